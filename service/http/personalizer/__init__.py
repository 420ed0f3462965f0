"""Azure AI Personalizer's REST surface over elicit's slate core (docs/personalizer.md).

Personalizer was retired; its clients still speak its API. Rank is a single-slot slate,
Multi-slot Rank a slate whose slots carry their own features and exclusions, Reward a
slate outcome of type ``reward``, Activate the slate activation — so these decisions are
logged, learned and evaluated exactly like native ones.

* :mod:`.features` — Personalizer's lists of feature objects → elicit feature dicts.
* :mod:`.requests` — request bodies, validated with Personalizer's field names.
* :mod:`.errors` — the ``ErrorResponse`` body, status codes, subscription-key check.
* :mod:`.handlers` — the operations, mapped onto :class:`service.decide.slates.SlateDecider`.
"""
