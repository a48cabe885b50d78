"""/api/v1/ reference endpoints."""
urlpatterns: list = []
