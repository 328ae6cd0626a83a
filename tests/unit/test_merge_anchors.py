"""scripts/merge_anchors.py: kept anchors land at the end of their own lists, comments stay."""

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("merge_anchors", ROOT / "scripts/merge_anchors.py")
merge_anchors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(merge_anchors)

ANCHORS = """# tuning history
thresholds:
  act_now: 0.45
categories:
  fever:
    tier: act_now
    anchors:
      - "hot"
      # a comment inside the list
      - "burning up"
  bleeding:
    tier: act_now
    anchors:
      - "nose won't stop"
lookalikes:
  past:
    - "during chemo"
  numbers:
    - "room 38"
general_followup:
  - "my letter"
"""


def test_new_texts_land_at_the_end_of_their_lists(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.yml"
    anchors.write_text(ANCHORS)
    kept = tmp_path / "kept.yml"
    kept.write_text(
        yaml.safe_dump(
            {
                "categories": {"fever": ['38.5 "ish"'], "bleeding": ["gums: bleeding"]},
                "lookalikes": {"past": ["back then"]},
            }
        )
    )
    assert merge_anchors.main([str(kept), "--anchors", str(anchors)]) == 0
    text = anchors.read_text()
    data = yaml.safe_load(text)
    assert data["categories"]["fever"]["anchors"] == ["hot", "burning up", '38.5 "ish"']
    assert data["categories"]["bleeding"]["anchors"][-1] == "gums: bleeding"
    assert data["lookalikes"] == {"past": ["during chemo", "back then"], "numbers": ["room 38"]}
    assert data["general_followup"] == ["my letter"]
    assert "# tuning history" in text and "# a comment inside the list" in text


def test_an_unknown_category_is_refused(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.yml"
    anchors.write_text(ANCHORS)
    kept = tmp_path / "kept.yml"
    kept.write_text(yaml.safe_dump({"categories": {"sneezing": ["achoo"]}}))
    assert merge_anchors.main([str(kept), "--anchors", str(anchors)]) == 1
    assert anchors.read_text() == ANCHORS
