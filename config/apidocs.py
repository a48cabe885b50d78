"""The resource API's interactive docs (Swagger UI), served from static files under the site's CSP.

drf-spectacular-sidecar ships Swagger UI as static files (SPECTACULAR_SETTINGS' SWAGGER_UI_DIST =
"SIDECAR"), so /api/docs/ works with no network. Its start-up script is served as a file of its own (the
split view), and the page's one inline <style> carries the request's CSP nonce, so the strict policy holds.
"""
from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "apidocs/swagger_ui.html"
