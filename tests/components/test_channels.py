"""The channels' memory of which buttons they offered (components/channels.py)."""

from components.channels import OfferedPayloads


def test_offered_payloads_are_remembered_per_conversation_and_bounded() -> None:
    offered = OfferedPayloads(conversations=2, per_conversation=2)
    offered.remember("a", [{"text": "hi", "buttons": [{"title": "t", "payload": "/one"}]}])
    offered.remember("a", [{"quick_replies": [{"payload": "/two"}, {"payload": "/three"}]}])
    assert offered.has("a", "/three") and not offered.has("a", "/one")  # oldest forgotten
    assert not offered.has("b", "/three")  # never across conversations
    offered.remember("b", [{"buttons": [{"payload": "/x"}]}])
    offered.remember("c", [{"buttons": [{"payload": "/y"}]}])
    assert not offered.has("a", "/three") and offered.has("c", "/y")
    offered.remember("d", ["not a dict", {"buttons": "nonsense"}, {"buttons": [{"payload": 3}]}])
    assert not offered.has("d", "3")
