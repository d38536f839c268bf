"""The app starts on the configured database and serves its home page and health check."""

from helpers import post_form


def test_home_page_renders_with_quick_exit(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-quick-exit' in page
    assert '<html lang="en-GB" dir="ltr">' in page


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok" and body["queue"] == "ok" and body["status"] == "ok"


def test_language_switcher_changes_language_without_javascript(client):
    response = post_form(client, "/language", {"locale": "es", "next": "/"})
    assert response.status_code == 303
    assert '<html lang="es" dir="ltr">' in client.get("/").get_data(as_text=True)
