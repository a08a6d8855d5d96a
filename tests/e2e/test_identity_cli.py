"""Identity through the real `openstack` CLI (python-openstackclient).

Setup that is not the behaviour under test (throw-away users and projects) goes through the
API (`make`, `api` fixtures) to keep the suite fast; the behaviour itself goes through the CLI.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from conftest import HTTP_TIMEOUT, Cloud, Factory, unique


def parse_time(value: str) -> datetime:
    # "2026-11-24T22:34:50+0000" (CLI), "...Z" or "...+00:00" elsewhere.
    v = value.replace("Z", "+00:00")
    if len(v) > 5 and v[-5] in "+-" and v[-3] != ":":
        v = v[:-2] + ":" + v[-2:]
    t = datetime.fromisoformat(v)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def names(rows: list[dict], key: str = "Name") -> set[str]:
    return {row[key] for row in rows}


def implied_closure(rows: list[dict]) -> dict[str, set[str]]:
    """prior role name -> every role it implies, directly or through a chain."""
    direct: dict[str, set[str]] = {}
    for row in rows:
        direct.setdefault(row["Prior Role Name"], set()).add(row["Implied Role Name"])
    closure: dict[str, set[str]] = {}
    for prior in direct:
        seen: set[str] = set()
        todo = list(direct[prior])
        while todo:
            role = todo.pop()
            if role not in seen:
                seen.add(role)
                todo.extend(direct.get(role, ()))
        closure[prior] = seen
    return closure


def token_is_refused(cloud: Cloud, token: str, project_id: str) -> None:
    """Every way a client can tell a token is dead: the CLI cannot authenticate with it
    (Keystone answers the token-method POST /v3/auth/tokens with 404), GET /v3/auth/tokens
    answers 404 for it, and a request carrying it as X-Auth-Token answers 401."""
    p = cloud.openstack_fails("project", "show", project_id,
                              env=cloud.token_env(token, project_id=project_id))
    assert "401" in p.stderr or "404" in p.stderr, p.stderr
    r = cloud.api.validate(token)
    assert r.status_code == 404, f"validate dead token: {r.status_code} {r.text}"
    r = requests.get(f"{cloud.identity_url}/auth/projects", headers={"X-Auth-Token": token},
                     timeout=HTTP_TIMEOUT)
    assert r.status_code == 401, f"dead token as X-Auth-Token: {r.status_code} {r.text}"


# --------------------------------------------------------------------------------------------
# Tokens and catalog


def test_token_issue_returns_id_expires_project_and_user(cloud: Cloud, api) -> None:
    tok = cloud.openstack("token", "issue")
    assert {"id", "expires", "project_id", "user_id"} <= tok.keys(), tok
    assert tok["id"]
    assert parse_time(tok["expires"]) > datetime.now(timezone.utc) + timedelta(minutes=5)
    # The ids are the admin user's and project's, and the token validates to them.
    body = api.validate(tok["id"]).json()["token"]
    assert body["user"]["id"] == tok["user_id"]
    assert body["user"]["name"] == cloud.admin["OS_USERNAME"]
    assert body["project"]["id"] == tok["project_id"]
    assert body["project"]["name"] == cloud.admin["OS_PROJECT_NAME"]


def test_token_revoke_makes_the_token_fail(cloud: Cloud, make: Factory) -> None:
    user, project = make.member()
    env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
    token = cloud.openstack("token", "issue", env=env)["id"]
    assert cloud.api.validate(token).status_code == 200
    # The same CLI call that must fail afterwards works while the token is alive.
    shown = cloud.openstack("project", "show", project["id"],
                            env=cloud.token_env(token, project_id=project["id"]))
    assert shown["id"] == project["id"]

    cloud.openstack("token", "revoke", token)

    token_is_refused(cloud, token, project["id"])


def test_catalog_list_has_identity_with_public_endpoint_in_region_one(cloud: Cloud) -> None:
    catalog = cloud.openstack("catalog", "list")
    identity = [svc for svc in catalog if svc["Type"] == "identity"]
    assert len(identity) == 1, catalog
    public = [ep for ep in identity[0]["Endpoints"]
              if ep["interface"] == "public" and ep["region"] == "RegionOne"]
    assert public, identity[0]
    assert public[0]["url"].rstrip("/").startswith(cloud.auth_url.rstrip("/").rsplit("/v3", 1)[0])


# --------------------------------------------------------------------------------------------
# CRUD: domain, project, user, group, role


def test_domain_create_list_show_set_delete(cloud: Cloud, cleanup) -> None:
    name = unique("dom")
    created = cloud.openstack("domain", "create", "--description", "first", name)
    cleanup.add(f"/domains/{created['id']}")
    assert created["name"] == name and created["description"] == "first"
    assert created["enabled"] is True

    assert name in names(cloud.openstack("domain", "list"))

    # An enabled domain cannot be deleted (Keystone: 403, disable it first).
    p = cloud.openstack_fails("domain", "delete", created["id"])
    assert "403" in p.stderr or "disable" in p.stderr.lower(), p.stderr

    cloud.openstack("domain", "set", "--description", "second", "--disable", created["id"])
    shown = cloud.openstack("domain", "show", created["id"])
    assert shown["description"] == "second" and shown["enabled"] is False

    cloud.openstack("domain", "delete", created["id"])
    assert cloud.api.get(f"/domains/{created['id']}").status_code == 404


def test_project_create_list_show_set_delete(cloud: Cloud, cleanup) -> None:
    name = unique("proj")
    created = cloud.openstack("project", "create", "--domain", "default",
                              "--description", "first", name)
    cleanup.add(f"/projects/{created['id']}")
    assert created["name"] == name and created["description"] == "first"
    assert created["domain_id"] == "default" and created["enabled"] is True

    assert name in names(cloud.openstack("project", "list"))

    cloud.openstack("project", "set", "--description", "second", "--disable", created["id"])
    shown = cloud.openstack("project", "show", created["id"])
    assert shown["id"] == created["id"] and shown["name"] == name
    assert shown["description"] == "second" and shown["enabled"] is False

    cloud.openstack("project", "delete", created["id"])
    assert cloud.api.get(f"/projects/{created['id']}").status_code == 404


def test_user_create_list_show_set_delete(cloud: Cloud, cleanup) -> None:
    name = unique("user")
    created = cloud.openstack("user", "create", "--domain", "default", "--password", "pw-1",
                              "--email", "first@example.org", name)
    cleanup.add(f"/users/{created['id']}")
    assert created["name"] == name and created["email"] == "first@example.org"
    assert created["enabled"] is True and created["domain_id"] == "default"
    assert "password" not in created

    assert name in names(cloud.openstack("user", "list"))

    cloud.openstack("user", "set", "--email", "second@example.org", "--disable", created["id"])
    shown = cloud.openstack("user", "show", created["id"])
    assert shown["email"] == "second@example.org" and shown["enabled"] is False

    cloud.openstack("user", "set", "--enable", created["id"])
    assert cloud.api.get(f"/users/{created['id']}").json()["user"]["enabled"] is True

    cloud.openstack("user", "delete", created["id"])
    assert cloud.api.get(f"/users/{created['id']}").status_code == 404


def test_group_create_list_show_set_delete(cloud: Cloud, cleanup) -> None:
    name = unique("group")
    created = cloud.openstack("group", "create", "--domain", "default",
                              "--description", "first", name)
    cleanup.add(f"/groups/{created['id']}")
    assert created["name"] == name and created["description"] == "first"

    assert name in names(cloud.openstack("group", "list"))

    cloud.openstack("group", "set", "--description", "second", created["id"])
    shown = cloud.openstack("group", "show", created["id"])
    assert shown["name"] == name and shown["description"] == "second"

    cloud.openstack("group", "delete", created["id"])
    assert cloud.api.get(f"/groups/{created['id']}").status_code == 404


def test_role_create_list_show_set_delete(cloud: Cloud, cleanup) -> None:
    name = unique("role")
    created = cloud.openstack("role", "create", "--description", "first", name)
    cleanup.add(f"/roles/{created['id']}")
    assert created["name"] == name and created["description"] == "first"

    assert name in names(cloud.openstack("role", "list"))

    renamed = unique("role")
    cloud.openstack("role", "set", "--name", renamed, "--description", "second", created["id"])
    shown = cloud.openstack("role", "show", created["id"])
    assert shown["name"] == renamed and shown["description"] == "second"

    cloud.openstack("role", "delete", created["id"])
    assert cloud.api.get(f"/roles/{created['id']}").status_code == 404


# --------------------------------------------------------------------------------------------
# Groups, roles, assignments


def test_group_add_contains_remove_user(cloud: Cloud, make: Factory) -> None:
    group, user = make.group(), make.user()

    cloud.openstack("group", "add", "user", group["id"], user["id"])
    p = cloud.openstack("group", "contains", "user", group["id"], user["id"],
                        check=False, json_output=False)
    assert p.returncode == 0 and f"{user['id']} in group" in p.stdout, p

    cloud.openstack("group", "remove", "user", group["id"], user["id"])
    # OSC prints "not in group" on stderr (and still exits 0).
    p = cloud.openstack("group", "contains", "user", group["id"], user["id"],
                        check=False, json_output=False)
    assert "not in group" in p.stdout + p.stderr, p
    users = cloud.api.get(f"/groups/{group['id']}/users").json()["users"]
    assert user["id"] not in {u["id"] for u in users}


def test_role_add_remove_and_assignment_list_by_name(cloud: Cloud, make: Factory) -> None:
    user, project = make.user(), make.project()
    scope = ("--project", project["id"], "--user", user["id"])

    cloud.openstack("role", "add", "member", *scope)
    rows = cloud.openstack("role", "assignment", "list", "--names", *scope)
    assert [r["Role"] for r in rows] == ["member"], rows
    assert rows[0]["User"] == f"{user['name']}@Default"
    assert rows[0]["Project"] == f"{project['name']}@Default"

    # Effective assignments expand implied roles: member implies reader.
    rows = cloud.openstack("role", "assignment", "list", "--names", "--effective", *scope)
    assert {"member", "reader"} <= {r["Role"] for r in rows}, rows
    assert "admin" not in {r["Role"] for r in rows}

    cloud.openstack("role", "remove", "member", *scope)
    assert cloud.openstack("role", "assignment", "list", "--names", *scope) == []


def test_implied_role_list_shows_admin_member_reader_chain(cloud: Cloud) -> None:
    rows = cloud.openstack("implied", "role", "list")
    closure = implied_closure(rows)
    # Keystone 2025+ puts `manager` between admin and member; Updraft may imply directly.
    assert "member" in closure.get("admin", set()), rows
    assert "reader" in closure.get("admin", set()), rows
    assert "reader" in closure.get("member", set()), rows
    assert "admin" not in closure.get("member", set()), rows


# --------------------------------------------------------------------------------------------
# Isolation between projects


@pytest.fixture
def member_on_a(make: Factory):
    """A user with role member on project A only, and another project B."""
    user, project_a = make.member()
    project_b = make.project()
    return user, project_a, project_b


def test_member_can_issue_token_for_own_project(cloud: Cloud, member_on_a) -> None:
    user, a, _ = member_on_a
    tok = cloud.openstack("token", "issue",
                          env=cloud.user_env(user["name"], user["password"], project_name=a["name"]))
    assert tok["project_id"] == a["id"] and tok["user_id"] == user["id"]


def test_member_cannot_get_token_scoped_to_other_project(cloud: Cloud, member_on_a) -> None:
    user, _, b = member_on_a
    p = cloud.openstack_fails("token", "issue",
                              env=cloud.user_env(user["name"], user["password"], project_id=b["id"]))
    assert "401" in p.stderr, p.stderr


def test_member_project_list_shows_only_own_project(cloud: Cloud, member_on_a) -> None:
    user, a, b = member_on_a
    env = cloud.user_env(user["name"], user["password"], project_id=a["id"])
    p = cloud.openstack("project", "list", env=env, check=False)
    if p.returncode == 0:
        listed = {row["ID"] for row in json.loads(p.stdout)}
        assert listed <= {a["id"]}, f"member sees projects beyond its own: {listed}"
        assert b["id"] not in listed
    else:
        assert "403" in p.stderr, p.stderr
    mine = cloud.openstack("project", "list", "--my-projects", env=env)
    assert [row["ID"] for row in mine] == [a["id"]]


def test_member_user_list_is_refused_with_403(cloud: Cloud, member_on_a) -> None:
    user, a, _ = member_on_a
    p = cloud.openstack_fails("user", "list",
                              env=cloud.user_env(user["name"], user["password"], project_id=a["id"]))
    assert "403" in p.stderr, p.stderr


# --------------------------------------------------------------------------------------------
# Credentials


def test_application_credential_auth_works_until_deleted(cloud: Cloud, make: Factory,
                                                        cleanup) -> None:
    user, project = make.member()
    env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
    name = unique("appcred")
    cred = cloud.openstack("application", "credential", "create", name, env=env)
    # Deleted before its user, if the test stops early (Keystone on SQLite leaves orphaned
    # application_credential_role rows behind when only the user is deleted).
    cleanup.add(f"/users/{user['id']}/application_credentials/{cred['ID']}")
    assert cred["Name"] == name and cred["Project ID"] == project["id"]
    assert cred["Secret"], "secret is shown once, at creation"
    shown = cloud.openstack("application", "credential", "show", cred["ID"], env=env)
    assert not shown.get("Secret"), "secret must not be shown again"

    ac_env = cloud.app_cred_env(cred["ID"], cred["Secret"])
    tok = cloud.openstack("token", "issue", env=ac_env)
    assert tok["user_id"] == user["id"] and tok["project_id"] == project["id"]

    cloud.openstack("application", "credential", "delete", cred["ID"], env=env)
    p = cloud.openstack_fails("token", "issue", env=ac_env)
    assert "401" in p.stderr or "404" in p.stderr, p.stderr
    # Tokens issued through the deleted credential die with it.
    assert cloud.api.validate(tok["id"]).status_code == 404


def test_disabling_user_kills_existing_token(cloud: Cloud, make: Factory) -> None:
    user, project = make.member()
    env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
    token = cloud.openstack("token", "issue", env=env)["id"]
    assert cloud.api.validate(token).status_code == 200

    cloud.openstack("user", "set", "--disable", user["id"])

    token_is_refused(cloud, token, project["id"])
    p = cloud.openstack_fails("token", "issue", env=env)
    assert "401" in p.stderr, p.stderr


def test_password_change_kills_old_token_and_old_password(cloud: Cloud, make: Factory) -> None:
    user, project = make.member()
    old_env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
    token = cloud.openstack("token", "issue", env=old_env)["id"]

    new_password = "new-" + user["password"]
    cloud.openstack("user", "set", "--password", new_password, user["id"])

    token_is_refused(cloud, token, project["id"])
    new_env = cloud.user_env(user["name"], new_password, project_id=project["id"])
    assert cloud.openstack("token", "issue", env=new_env)["user_id"] == user["id"]
    p = cloud.openstack_fails("token", "issue", env=old_env)
    assert "401" in p.stderr, p.stderr


def test_ec2_credentials_create_and_list(cloud: Cloud, make: Factory) -> None:
    user, project = make.member()
    env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
    created = cloud.openstack("ec2", "credentials", "create", env=env)
    assert created["access"] and created["secret"], created
    assert created["project_id"] == project["id"] and created["user_id"] == user["id"]

    listed = cloud.openstack("ec2", "credentials", "list", env=env)
    mine = [row for row in listed if row["Access"] == created["access"]]
    assert len(mine) == 1, listed
    assert mine[0]["Secret"] == created["secret"]
    assert mine[0]["Project ID"] == project["id"]
