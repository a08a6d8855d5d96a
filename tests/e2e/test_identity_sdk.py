"""Identity through openstacksdk, configured only by the cloud's clouds.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import openstack
import pytest
import yaml

from conftest import Cloud, unique


@pytest.fixture
def clouds_yaml(cloud: Cloud, tmp_path: Path) -> Path:
    """Updraft's generated DIR/clouds.yaml; for an external cloud, one built from its openrc."""
    if cloud.data_dir is not None:
        return cloud.data_dir / "clouds.yaml"
    a = cloud.admin
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"updraft": {
        "auth": {
            "auth_url": a["OS_AUTH_URL"],
            "username": a["OS_USERNAME"],
            "password": a["OS_PASSWORD"],
            "project_name": a["OS_PROJECT_NAME"],
            "user_domain_name": a.get("OS_USER_DOMAIN_NAME", "Default"),
            "project_domain_name": a.get("OS_PROJECT_DOMAIN_NAME", "Default"),
        },
        "region_name": a.get("OS_REGION_NAME", "RegionOne"),
        "interface": a.get("OS_INTERFACE", "public"),
        "identity_api_version": 3,
    }}}))
    path.chmod(0o600)
    return path


@pytest.fixture
def conn(clouds_yaml: Path, monkeypatch: pytest.MonkeyPatch):
    # Only the clouds.yaml configures the SDK: no stray OS_* from the caller.
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds_yaml))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    c = openstack.connect(cloud="updraft")
    yield c
    c.close()


def test_connect_with_clouds_yaml_authenticates_as_admin(conn, cloud: Cloud) -> None:
    assert conn.auth_token
    assert conn.current_project["name"] == cloud.admin["OS_PROJECT_NAME"]
    me = conn.identity.get_user(conn.current_user_id)
    assert me.name == cloud.admin["OS_USERNAME"]


def test_sdk_lists_projects_users_and_roles(conn, cloud: Cloud) -> None:
    projects = {p.name for p in conn.identity.projects()}
    assert cloud.admin["OS_PROJECT_NAME"] in projects
    users = {u.name for u in conn.identity.users()}
    assert cloud.admin["OS_USERNAME"] in users
    roles = {r.name for r in conn.identity.roles()}
    assert {"admin", "member", "reader"} <= roles


def test_sdk_creates_and_deletes_project(conn) -> None:
    name = unique("sdkproj")
    project = conn.identity.create_project(name=name, domain_id="default",
                                           description="from the sdk")
    try:
        assert project.id and project.name == name
        fetched = conn.identity.get_project(project.id)
        assert fetched.name == name and fetched.description == "from the sdk"
        assert fetched.domain_id == "default" and fetched.is_enabled
        assert name in {p.name for p in conn.identity.projects()}
    finally:
        conn.identity.delete_project(project, ignore_missing=True)
    assert conn.identity.find_project(name, ignore_missing=True) is None
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.identity.get_project(project.id)


def test_sdk_user_role_assignment_on_project(conn) -> None:
    project = conn.identity.create_project(name=unique("sdkproj"), domain_id="default")
    user = conn.identity.create_user(name=unique("sdkuser"), domain_id="default",
                                     password="sdk-pass")
    try:
        member = conn.identity.find_role("member", ignore_missing=False)
        conn.identity.assign_project_role_to_user(project, user, member)
        assert conn.identity.validate_user_has_project_role(project, user, member)
        assigned = {a.role["id"] for a in
                    conn.identity.role_assignments(user_id=user.id, scope_project_id=project.id)}
        assert assigned == {member.id}
        conn.identity.unassign_project_role_from_user(project, user, member)
        assert not conn.identity.validate_user_has_project_role(project, user, member)
    finally:
        conn.identity.delete_user(user, ignore_missing=True)
        conn.identity.delete_project(project, ignore_missing=True)
