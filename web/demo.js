/*
 * The demo "patient portal": sign in as a demo patient (a token from POST /demo/token) or
 * stay anonymous, then mount the widget. The choice is kept in sessionStorage so a reload
 * resumes the same conversation; signing out or switching patient forgets the transcript.
 */
(function () {
  "use strict";

  var CHOICE_KEY = "demo-portal:patient";
  var body = document.body;
  var serverUrl = body.getAttribute("data-server-url");
  var hospitalName = body.getAttribute("data-hospital");
  var demoOn = body.getAttribute("data-demo") === "on";
  var form = document.getElementById("signin");
  var signedInAs = document.getElementById("signed-in-as");
  var signout = document.getElementById("signout");
  var errorLine = document.getElementById("signin-error");
  var demoOff = document.getElementById("demo-off");

  demoOff.hidden = demoOn;

  function storedChoice() {
    try {
      return window.sessionStorage.getItem(CHOICE_KEY);
    } catch (e) {
      return null;
    }
  }

  function storeChoice(value) {
    try {
      if (value === null) window.sessionStorage.removeItem(CHOICE_KEY);
      else window.sessionStorage.setItem(CHOICE_KEY, value);
    } catch (e) {
      /* private mode: the choice just isn't remembered */
    }
  }

  function fetchToken(patient) {
    return fetch("/demo/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ patient: patient }),
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok || typeof data.token !== "string") {
          throw new Error(data.error || "Sign-in failed.");
        }
        return data;
      });
    });
  }

  function radioFor(patient) {
    var radios = form.querySelectorAll('input[name="patient"]');
    for (var i = 0; i < radios.length; i++) if (radios[i].value === patient) return radios[i];
    return null;
  }

  function mount(patient, open) {
    errorLine.textContent = "";
    var ready = patient ? fetchToken(patient) : Promise.resolve(null);
    return ready.then(
      function (data) {
        var radio = radioFor(patient || "");
        if (radio) radio.checked = true;
        signedInAs.textContent = data
          ? "Signed in as " + data.name + " (" + data.patient + ")."
          : "Not signed in.";
        signout.hidden = !data;
        window.ALLChat.mount({
          serverUrl: serverUrl,
          token: data ? data.token : null,
          hospitalName: hospitalName,
          open: open,
          // A fresh token when the old one expires, as a portal would do silently.
          getToken: patient
            ? function () {
                return fetchToken(patient).then(function (fresh) {
                  return fresh.token;
                });
              }
            : undefined,
        });
      },
      function (error) {
        errorLine.textContent = error.message;
      }
    );
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var checked = form.querySelector('input[name="patient"]:checked');
    var patient = checked && demoOn ? checked.value : "";
    if (storedChoice() === patient && window.ALLChat.isMounted()) {
      window.ALLChat.open();
      return;
    }
    if (storedChoice() !== patient) {
      // Another patient on the same browser must not see this conversation.
      window.ALLChat.destroy({ forget: true });
      window.ALLChat.forget();
    }
    storeChoice(patient);
    mount(patient, true);
  });

  signout.addEventListener("click", function () {
    window.ALLChat.destroy({ forget: true });
    window.ALLChat.forget();
    storeChoice(null);
    var anonymous = radioFor("");
    if (anonymous) anonymous.checked = true;
    mount("", false);
    signout.hidden = true;
    anonymous.focus();
  });

  var previous = storedChoice();
  var initial = previous && demoOn ? previous : "";
  storeChoice(initial);
  mount(initial, false);
})();
