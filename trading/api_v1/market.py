"""/api/v1/ market endpoints."""
urlpatterns: list = []
