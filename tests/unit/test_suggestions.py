from bot.care.suggestions import did_you_mean, load_topics


def test_offers_the_three_best_titled_topics_in_order():
    ranking = [
        {"name": "nlu_fallback", "confidence": 1.0},
        {"name": "ask_how_often", "confidence": 0.25},
        {"name": "out_of_scope", "confidence": 0.2},
        {"name": "ask_coping", "confidence": 0.15},
        {"name": "greet", "confidence": 0.1},
        {"name": "ask_helpline", "confidence": 0.1},
        {"name": "ask_who_see", "confidence": 0.05},
    ]
    reply = did_you_mean(ranking)
    assert [payload for _, payload in reply.buttons] == [
        "/ask_how_often",
        "/ask_coping",
        "/ask_helpline",
    ]
    assert reply.text.startswith("I'm not sure I understood")
    # A worry it didn't understand still hears whom to call.
    assert "hospital team" in reply.text and "999" in reply.text


def test_nothing_to_offer_still_signposts():
    reply = did_you_mean([{"name": "out_of_scope", "confidence": 1.0}])
    assert reply.buttons == ()
    assert "999" in reply.text


def test_every_title_is_a_domain_intent():
    import yaml

    from bot.config import PROJECT_ROOT

    intents = set(yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"])
    assert set(load_topics()["titles"]) <= intents
