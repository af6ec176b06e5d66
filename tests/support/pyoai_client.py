"""pyoai (`oaipmh`, Infrae's OAI-PMH client) as a harvester of our provider, on the lxml this project uses.

pyoai 2.5.0, its latest release, calls `XPathEvaluator(...).evaluate(expr)`; lxml 5 removed that alias of calling
the evaluator (`evaluator(expr)`), so pyoai fails on its first answer ("'XPathElementEvaluator' object has no
attribute 'evaluate'", infrae/pyoai#59, open). `pyoai_client` gives pyoai's `client` and `metadata` modules an
`etree` whose `XPathEvaluator` has the alias back, and nothing else changes: the requests, the parsing of answers,
the resumption-token loop and the error handling are pyoai's own.
"""

from __future__ import annotations

from types import ModuleType, SimpleNamespace
from typing import Any

from lxml import etree


class _Evaluator:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._evaluator = etree.XPathEvaluator(*args, **kwargs)

    def evaluate(self, expression: str, **variables: Any) -> Any:
        return self._evaluator(expression, **variables)

    __call__ = evaluate


def _etree_with_evaluate() -> SimpleNamespace:
    names = {name: getattr(etree, name) for name in dir(etree) if not name.startswith("__")}
    return SimpleNamespace(**{**names, "XPathEvaluator": _Evaluator})


def pyoai_client() -> ModuleType:
    """pyoai's `oaipmh.client` module, made to run on lxml ≥ 5."""
    from oaipmh import client, metadata

    shim = _etree_with_evaluate()
    client.etree = shim
    metadata.etree = shim
    return client
