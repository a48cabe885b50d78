"""DRF renderers of the resource API (/api/): JSON, and DRF's browsable pages under the site's CSP."""
from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from rest_framework import renderers

# django-csp's per-response override (what its decorators do for a view), for the pages DRF renders.
relax_styles = csp_replace({"style-src": [SELF, UNSAFE_INLINE]})


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable pages of /api/ style elements inline (style attributes, Pygments' <style>), so those
    pages, and only they, allow inline styles; their scripts stay as strict as everywhere (JSON answers
    keep the site's policy unchanged)."""

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict[str, Any] | None = None) -> Any:
        page = super().render(data, accepted_media_type, renderer_context)
        response = (renderer_context or {}).get("response")
        if response is not None:
            relax_styles(lambda: response)()
        return page
