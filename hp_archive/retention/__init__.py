"""Retention schedules, classification, eligibility, disposal certificates and destruction.

**What a record is.** The unit of retention — what is classified, listed on a certificate, held,
destroyed and stubbed — is an **item** (a post, comment, reply, media item or page, by its stable
uid) with all its versions. Its *evidence* is every WARC record that shows it: each capture whose
payload yields the item (a response, or a revisit through its original), the request sent with
it, the media bytes of a media item (and their revisits), and every page of a completed listing
that showed the item gone. A WARC record is indivisible evidence (the bytes as received, DESIGN
invariant 1), and one capture often shows many items — a page of comments, a listing of posts.

**What destroying a record means.** A WARC record is destroyed only when *every* record it shows
is destroyed with it, so no record that is not approved ever loses a byte. A record counts as
destroyed (and leaves a stub) only when *all* of its evidence is gone, so nothing counted destroyed
leaves a byte behind. A record whose captures also show a record that stays (not due, held, struck
by the Commission) stays whole and searchable until a later certificate can take it; if only some
of its captures could go, it is partially destroyed and the index is rebuilt to show exactly what
remains. Files mixing destroyed and surviving records are rewritten with the survivors copied byte
for byte (DESIGN invariant 4). See :mod:`.plan` for the rules and :mod:`.evidence` for how the
evidence is read back from the stored files.

Modules: :mod:`.schedule` (the schedule file), :mod:`.classify` (rules, the index hook, object
locks), :mod:`.eligibility` (what is due and why not), :mod:`.certificates` (the state machine),
:mod:`.disposal` (the service functions the CLI and the ``hp_disposal`` DAG call), :mod:`.events`,
and for execution :mod:`.destruction` with :mod:`.planning`, :mod:`.evidence`, :mod:`.plan`,
:mod:`.rewrite` and :mod:`.switch`; then :mod:`.verify`, :mod:`.documents` and :mod:`.pdf`.
"""
