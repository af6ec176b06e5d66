"""HTML the HTML readers' tests feed them: awkward pieces (tags, entities, stray `<`, raw-text elements) to combine,
and the real abstracts of the CERN Open Data corpus."""

from pathlib import Path

import orjson

AWKWARD_HTML_PIECES = (
    "<p>", "</p>", "<br>", "<br/>", "<br />", "<BR>", '<P class="x">', "<a href='u>v'>", "<a href=x>", "<a href=x/>",
    "<a href=x/y>", '<a href = "x" >', '<a\thref="x"\n>', "<a\vhref=x>", "<a\xa0b>", "< p>", "</ p>", "</p >",
    "</P\n>", "<!-- c -->", "<!doctype html>", "<?php x ?>", "<![CDATA[x]]>", "<script>a<b</script>",
    "<style>p{}</style>", "<scr", "<", ">", "&", "&amp;", "&amp", "&lt;", "&#60;", "&#x3C;", "&#", "&#x", "&nbsp;",
    "&foo;", "&zwnj", "x", " ", "\n", "\t", "\xa0", "words and more words", "a<b", "a < b", "p_T<20", "<1>", "</>",
    "</3>", "<a b c>", '<a b="1"c="2">', '<img src="a.png"/>', '<img src="a.png" />', "<x:y>", "</x:y>", "<h1>",
    "</h1>", "<li>", "</li>", "<ul>", "<pre>", "</pre>", "<sup>", "</sup>", "<div/>", "<p/ >", "<p / >",
    '<a href="x"/>', "<a href='x' / >", "<a ==x>", "<a b==c>", "<a b='c'd>", "</a b>", '</a"b">', "<a\x00>",
    "<a\fb>", "\r\n", "&#0;", "&#1234567;", "&lt", "&LT;", "&gt;&gt", "<td>", "</td>", '<span style="a:b;">',
    '<a href="http://x?a=1&amp;b=2">', "<a href=http://x?a=1&b=2>", "<a title=`x`>", "<-x>", "<a-b>", "<a_b>",
    "<a.b>", "<1a>", "<a1>", "<!>", "<!x>", "<!-->", "<?>", "</\n>", "<a\n/>", "<a/\n>", "<a/b>", "<a //>",
    "<a /x>", "</a/>", "<br/ >", "<a href=“http://x”>",
)  # fmt: skip


def cern_abstracts(corpus: Path) -> set[str]:
    """Every distinct HTML abstract of the CERN Open Data corpus records."""
    return {
        record["abstract"]["description"]
        for path in sorted((corpus / "cernopendata" / "records").glob("*.json"))
        for record in orjson.loads(path.read_bytes())
        if isinstance(record.get("abstract"), dict) and isinstance(record["abstract"].get("description"), str)
    }
