"""What a destruction does to WARC files: whole deletes, rewrites, shared captures, conversions."""

from __future__ import annotations

from hp_archive.retention.plan import CaptureRecord, FileContents, plan_destruction


def warcinfo(rid: str = "info") -> CaptureRecord:
    return CaptureRecord(rid, "warcinfo")


def response(rid: str, *uids: str, refers_to: str | None = None) -> CaptureRecord:
    return CaptureRecord(rid, "revisit" if refers_to else "response", frozenset(uids), refers_to=refers_to)


def request(rid: str, of: str) -> CaptureRecord:
    return CaptureRecord(rid, "request", concurrent_to=of)


def report(rid: str = "report") -> CaptureRecord:
    return CaptureRecord(rid, "metadata")


def file(key: str, *records: CaptureRecord, splittable: bool = True) -> FileContents:
    return FileContents(key, records, splittable=splittable)


def test_a_file_whose_records_all_go_is_deleted_whole() -> None:
    f = file("warcs/a", warcinfo(), response("r1", "p1", "p2"), request("q1", "r1"), report())
    plan = plan_destruction([f], {"p1", "p2"})
    assert plan.files["warcs/a"].action == "delete"
    assert plan.destroyed == {"p1", "p2"}
    assert plan.destroyed_records == {"info", "r1", "q1", "report"}


def test_survivors_are_rewritten_and_the_files_own_records_stay_with_them() -> None:
    f = file(
        "warcs/a",
        warcinfo(),
        response("r1", "p1"),
        request("q1", "r1"),
        response("r2", "p2"),
        request("q2", "r2"),
        response("err"),  # an error page: evidence of nothing
        request("qerr", "err"),
        report(),
    )
    plan = plan_destruction([f], {"p1"})
    file_plan = plan.files["warcs/a"]
    assert file_plan.action == "rewrite"
    assert file_plan.destroy == ["r1", "q1"]
    assert file_plan.keep == ["info", "r2", "q2", "err", "qerr", "report"]
    assert plan.destroyed == {"p1"} and not plan.partial and not plan.retained


def test_a_capture_showing_a_record_that_stays_is_kept_and_says_why() -> None:
    f = file("warcs/a", warcinfo(), response("page", "c1", "held"), report())
    plan = plan_destruction([f], {"c1"})
    assert plan.files["warcs/a"].action == "keep"
    assert plan.destroyed == set()
    assert plan.retained == {"c1": "a capture also shows held, which is not approved for destruction"}


def test_an_item_losing_only_some_captures_is_partial() -> None:
    night1 = file("warcs/1", warcinfo("i1"), response("n1", "c1"), report("m1"))
    night2 = file("warcs/2", warcinfo("i2"), response("n2", "c1", "c2"), report("m2"))
    plan = plan_destruction([night1, night2], {"c1"})
    assert plan.files["warcs/1"].action == "delete"
    assert plan.files["warcs/2"].action == "keep"
    assert "1 of 2 captures destroyed" in plan.partial["c1"]
    assert plan.evidence["c1"] == ["n1", "n2"]


def test_an_unsplittable_file_goes_whole_or_not_at_all() -> None:
    f = file("warcs/x", warcinfo(), response("r1", "p1"), response("r2", "p2"), splittable=False)
    kept = plan_destruction([f], {"p1"})
    assert kept.files["warcs/x"].action == "keep" and "p1" in kept.retained
    assert "cannot be split" in kept.retained["p1"]
    gone = plan_destruction([f], {"p1", "p2"})
    assert gone.files["warcs/x"].action == "delete"


def test_a_surviving_revisit_of_a_destroyed_original_becomes_a_full_record() -> None:
    first = file("warcs/1", warcinfo("i1"), response("orig", "c1"), report("m1"))
    # the second night saw the same payload (c1) but the listing URL also shows c2, not approved
    second = file("warcs/2", warcinfo("i2"), response("rev", "c1", "c2", refers_to="orig"), report("m2"))
    plan = plan_destruction([first, second], {"c1"})
    assert plan.files["warcs/1"].action == "delete"
    assert plan.files["warcs/2"].action == "rewrite"
    assert plan.files["warcs/2"].convert == {"rev": "orig"}
    assert plan.files["warcs/2"].keep == ["i2", "rev", "m2"]
    assert "c1" in plan.partial  # its content survives in the converted revisit


def test_revisits_outside_the_candidate_files_are_converted_too() -> None:
    f = file("warcs/1", warcinfo(), response("orig", "c1"), report())
    plan = plan_destruction([f], {"c1"})
    assert plan.destroyed == {"c1"}
    plan.add_conversions([("warcs/9", "rev9", "orig")], {"orig": frozenset({"c1"})})
    assert plan.files["warcs/9"].convert == {"rev9": "orig"}
    assert plan.destroyed == set() and "rev9" in plan.partial["c1"]


def test_an_approved_record_no_capture_shows_is_not_counted_destroyed() -> None:
    f = file("warcs/1", warcinfo(), response("r", "c1"), report())
    plan = plan_destruction([f], {"c1", "ghost"})
    assert plan.destroyed == {"c1"}
    assert "no stored capture shows it" in plan.retained["ghost"]
