"""Small Sphinx fixes for the xinpaint book (loaded through ``_config.yml``).

* jupyter-book 1.x registers sphinx-thebe's configuration script twice, which makes
  browsers report "Identifier 'THEBE_JS_URL' has already been declared" on every page;
  identical script entries are dropped here before a page is rendered.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items()))
        # The same inline script is registered once with filename None and once with "".
        key = (getattr(script, "filename", None) or "", attributes)
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


def setup(app):
    # Run first: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", _dedupe_scripts, priority=1)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
