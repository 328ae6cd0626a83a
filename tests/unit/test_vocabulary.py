from bot.understanding.vocabulary import Vocabulary, content_words


def test_content_words_drop_stop_words_numbers_and_punctuation() -> None:
    assert content_words(["When", "is", "my", "next", "check", "-", "up", "38", "?"]) == ["check"]


def test_known_words_and_close_typos() -> None:
    vocab = Vocabulary(["appointment", "leukaemia", "sign"])
    assert vocab.knows("appointment")
    assert vocab.knows("apointment")  # a typo of a taught word
    assert vocab.knows("leukemia")  # the American spelling
    assert not vocab.knows("signal")  # a longer, different word is not a typo of "sign"
    assert not vocab.knows("tv")  # short words are never fuzzy-matched


def test_unfamiliar_needs_content_words_and_none_known() -> None:
    vocab = Vocabulary(["appointment"])
    assert vocab.is_unfamiliar(["giraffe"])
    assert vocab.is_unfamiliar(["mnbvcxz"])
    assert not vocab.is_unfamiliar(["my", "apointment", "giraffe"])
    assert not vocab.is_unfamiliar(["is", "it", "?"])  # nothing to judge: leave it alone
