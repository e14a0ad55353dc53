"""Module text rendered from Markdown and sanitised; the content language chosen."""

from vcollege.learning.content import render_markdown, wanted_language


def test_markdown_is_rendered_and_raw_html_cannot_run():
    html = render_markdown(
        "# Title\n\n| Appendix | Permit |\n|---|---|\n| I | import and export |\n\n"
        "<script>alert(1)</script><img src=x onerror=alert(2)> <b onclick=\"x()\">bold</b>\n\n"
        "[Resolution](https://cites.org/res) [bad](javascript:alert(3))\n\n<iframe src=https://evil.example></iframe>"
    )
    assert "<h2>Title</h2>" in html and "<table>" in html and "<td>import and export</td>" in html
    assert "<script" not in html and "alert(1)" not in html
    assert "onerror" not in html and "onclick" not in html and "<b>bold</b>" in html
    assert "href=\"javascript" not in html and "<iframe" not in html
    assert 'href="https://cites.org/res"' in html and 'rel="noopener noreferrer"' in html and 'target="_blank"' in html


def test_language_preference_order():
    assert wanted_language(chosen="fr", profile="es", launch="pt") == "fr"
    assert wanted_language(chosen=None, profile="es", launch="pt") == "es"
    assert wanted_language(chosen=None, profile=None, launch="pt_BR") == "pt-BR"
    assert wanted_language(chosen=None, profile=None, launch=None) == "en"
