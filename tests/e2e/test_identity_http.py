"""Identity at the HTTP level: status codes, Keystone error bodies, request ids."""

from __future__ import annotations

import uuid

import requests

from conftest import HTTP_TIMEOUT, Api, Cleanup, Cloud, Factory, unique


def assert_keystone_error(r: requests.Response, code: int) -> dict:
    """Status `code`, a JSON body {"error": {"code", "title", "message"}}, a request id."""
    assert r.status_code == code, f"expected {code}, got {r.status_code}: {r.text}"
    assert r.headers.get("x-openstack-request-id"), dict(r.headers)
    assert r.headers.get("Content-Type", "").startswith("application/json"), dict(r.headers)
    body = r.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "title", "message"} <= set(error), error
    assert error["code"] == code, error
    assert isinstance(error["title"], str) and error["title"]
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_every_response_carries_a_request_id(cloud: Cloud, api: Api) -> None:
    for r in (requests.get(cloud.identity_url, timeout=HTTP_TIMEOUT),
              api.get("/projects"),
              api.get(f"/users/{uuid.uuid4().hex}")):
        assert r.headers.get("x-openstack-request-id"), (r.url, r.status_code, dict(r.headers))
    ids = {api.get("/roles").headers["x-openstack-request-id"] for _ in range(3)}
    assert len(ids) == 3, "request ids must differ between requests"


def test_version_document_at_auth_url(cloud: Cloud) -> None:
    r = requests.get(cloud.identity_url, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    version = r.json()["version"]
    assert version["id"].startswith("v3") and version["status"] == "stable"


def test_token_body_has_catalog_roles_and_request_id(cloud: Cloud, api: Api) -> None:
    a = cloud.admin
    r = api.password_auth(a["OS_USERNAME"], a["OS_PASSWORD"], project_name=a["OS_PROJECT_NAME"])
    assert r.status_code == 201, r.text
    assert r.headers.get("X-Subject-Token") and r.headers.get("x-openstack-request-id")
    token = r.json()["token"]
    assert token["methods"] == ["password"]
    assert {"admin", "member", "reader"} <= {role["name"] for role in token["roles"]}
    assert token["project"]["domain"]["id"] == "default"
    assert any(svc["type"] == "identity" for svc in token["catalog"])
    assert "expires_at" in token and "issued_at" in token


def test_malformed_json_body_is_400_in_keystone_format(api: Api) -> None:
    r = api.request("POST", "/projects", data='{"project": {"name": ',
                    headers={"Content-Type": "application/json"})
    assert_keystone_error(r, 400)


def test_project_without_name_is_400(api: Api) -> None:
    r = api.request("POST", "/projects", json={"project": {"description": "no name"}})
    assert_keystone_error(r, 400)


def test_duplicate_project_name_is_409(api: Api, cleanup: Cleanup) -> None:
    name = unique("dup")
    first = api.create("projects", "project", {"name": name, "domain_id": "default"})
    cleanup.add(f"/projects/{first['id']}")
    r = api.request("POST", "/projects", json={"project": {"name": name, "domain_id": "default"}})
    assert_keystone_error(r, 409)
    # Nothing was created by the refused request.
    listed = api.get("/projects", params={"name": name}).json()["projects"]
    assert [p["id"] for p in listed] == [first["id"]]


def test_unknown_ids_are_404(api: Api) -> None:
    for collection in ("projects", "users", "groups", "roles", "domains"):
        assert_keystone_error(api.get(f"/{collection}/{uuid.uuid4().hex}"), 404)


def test_garbage_token_is_401(cloud: Cloud) -> None:
    r = requests.get(f"{cloud.identity_url}/projects",
                     headers={"X-Auth-Token": "garbage-" + uuid.uuid4().hex}, timeout=HTTP_TIMEOUT)
    assert_keystone_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Keystone uri="), dict(r.headers)


def test_missing_token_is_401(cloud: Cloud) -> None:
    r = requests.get(f"{cloud.identity_url}/projects", timeout=HTTP_TIMEOUT)
    assert_keystone_error(r, 401)


def test_wrong_password_is_401(cloud: Cloud, api: Api) -> None:
    r = api.password_auth(cloud.admin["OS_USERNAME"], "wrong-" + uuid.uuid4().hex,
                          project_name=cloud.admin["OS_PROJECT_NAME"])
    assert_keystone_error(r, 401)
    assert "X-Subject-Token" not in r.headers


def test_validating_garbage_subject_token_is_404(api: Api) -> None:
    assert_keystone_error(api.validate("garbage-" + uuid.uuid4().hex), 404)


def test_bootstrap_resources_exist(api: Api) -> None:
    domain = api.get("/domains/default")
    assert domain.status_code == 200 and domain.json()["domain"]["name"] == "Default"
    projects = api.get("/projects", params={"name": "admin", "domain_id": "default"})
    assert len(projects.json()["projects"]) == 1
    users = api.get("/users", params={"name": "admin", "domain_id": "default"})
    assert len(users.json()["users"]) == 1
    roles = {r["name"] for r in api.get("/roles").json()["roles"]}
    assert {"admin", "member", "reader"} <= roles
    region = api.get("/regions/RegionOne")
    assert region.status_code == 200 and region.json()["region"]["id"] == "RegionOne"


def test_member_token_sees_only_own_project(cloud: Cloud, make: Factory) -> None:
    """What `openstack project list` relies on: GET /v3/projects is admin-only (403 for a
    project member, after which the CLI falls back to GET /v3/users/{id}/projects)."""
    user, a = make.member()
    b = make.project()
    token = cloud.api.issue_token(user["name"], user["password"], project_id=a["id"])

    def get(path: str) -> requests.Response:
        return requests.get(cloud.identity_url + path, headers={"X-Auth-Token": token},
                            timeout=HTTP_TIMEOUT)

    assert_keystone_error(get("/projects"), 403)
    assert_keystone_error(get("/users"), 403)
    assert_keystone_error(get(f"/projects/{b['id']}"), 403)
    assert get(f"/projects/{a['id']}").status_code == 200
    for path in (f"/users/{user['id']}/projects", "/auth/projects"):
        r = get(path)
        assert r.status_code == 200, (path, r.text)
        assert [p["id"] for p in r.json()["projects"]] == [a["id"]], (path, r.json())
