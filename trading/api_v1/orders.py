"""/api/v1/ orders endpoints."""
urlpatterns: list = []
