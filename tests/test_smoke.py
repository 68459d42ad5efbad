from tests.conftest import csrf_token


def test_home_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'<html lang="id">' in response.data
