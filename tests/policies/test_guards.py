"""The slate rules as fill_slate asks them: the counted-once-per-prefix rule of
``CapState.eligibility`` must say exactly what ``CapState.blocked_by`` says."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bandit.slates import Candidate
from policies.guards import CapState

# Few names, so that candidates share creators and categories and every branch is hit.
names = st.sampled_from(["a", "b", "c"]) | st.none()
candidates = st.builds(Candidate, st.sampled_from([f"i{k}" for k in range(8)]), category=names, creator=names)
caps = st.builds(
    CapState, st.integers(0, 3), st.integers(0, 2),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=2).map(tuple),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=2).map(tuple),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=2).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(caps, st.lists(st.tuples(candidates, st.lists(candidates, max_size=5)), min_size=1, max_size=12))
def test_eligibility_agrees_with_blocked_by(state: CapState, asks: list[tuple[Candidate, list[Candidate]]]) -> None:
    rule = state.eligibility()  # one rule for every ask, as across a slate's slots: its memo is exercised
    for candidate, chosen in asks + asks:
        assert rule(candidate, chosen) == (state.blocked_by(candidate, chosen) is None), (candidate, chosen)


def test_a_prefix_with_the_same_ids_but_other_creators_is_not_confused() -> None:
    rule = CapState(5, 1).eligibility()
    target = Candidate("t", creator="c1")
    assert rule(target, [Candidate("x", creator="c2")])
    assert not rule(target, [Candidate("x", creator="c1")])  # same id "x", other creator: counted anew
