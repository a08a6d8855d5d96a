"""OS-TRUST delegation and OS-INHERIT grants with the real CLI. A trustor lets a trustee act in a project (the
mechanism orchestration uses to act for a user later)."""
from __future__ import annotations

from conftest import Cloud, Factory


def test_trust_lets_trustee_act_as_trustor_until_deleted(cloud: Cloud, make: Factory) -> None:
    trustor, project = make.member()
    trustee = make.user()
    trustor_env = cloud.user_env(trustor["name"], trustor["password"], project_id=project["id"])
    trust = cloud.openstack("trust", "create", "--project", project["id"], "--role",
                            cloud.api.role_id("member"), "--impersonate", trustor["id"], trustee["id"], env=trustor_env)
    assert trust["trustor_user_id"] == trustor["id"] and trust["trustee_user_id"] == trustee["id"]
    assert trust["is_impersonation"] is True

    trustee_env = cloud.user_env(trustee["name"], trustee["password"])
    trustee_env["OS_TRUST_ID"] = trust["id"]
    token = cloud.openstack("token", "issue", env=trustee_env)
    # Impersonation: the token speaks for the trustor, in the trust's project.
    assert token["user_id"] == trustor["id"] and token["project_id"] == project["id"]
    body = cloud.api.validate(token["id"]).json()["token"]
    assert body["OS-TRUST:trust"]["id"] == trust["id"]
    assert {r["name"] for r in body["roles"]} >= {"member", "reader"}

    cloud.openstack("trust", "delete", trust["id"], env=trustor_env)
    assert cloud.api.validate(token["id"]).status_code == 404, "a deleted trust's tokens must die"
    p = cloud.openstack_fails("token", "issue", env=trustee_env)
    assert "401" in p.stderr or "404" in p.stderr, p.stderr


def test_trust_cannot_delegate_a_role_the_trustor_lacks(cloud: Cloud, make: Factory) -> None:
    trustor, project = make.member("reader")
    trustee = make.user()
    env = cloud.user_env(trustor["name"], trustor["password"], project_id=project["id"])
    p = cloud.openstack_fails("trust", "create", "--project", project["id"], "--role",
                              cloud.api.role_id("member"), trustor["id"], trustee["id"], env=env)
    # Keystone looks the role up among the trustor's roles: 404 when it is not there.
    assert "404" in p.stderr, p.stderr


def test_inherited_domain_role_reaches_every_project_in_the_domain(cloud: Cloud, make: Factory) -> None:
    """OS-INHERIT: a role granted on a domain `--inherited` applies to its projects, not to it."""
    domain = cloud.api.create("domains", "domain", {"name": "e2e-inherit-" + make.user()["id"][:8]})
    try:
        project = cloud.api.create("projects", "project", {"name": "inherit-proj", "domain_id": domain["id"]})
        user = make.user()
        cloud.openstack("role", "add", "--user", user["id"], "--domain", domain["id"], "--inherited", "member")
        env = cloud.user_env(user["name"], user["password"], project_id=project["id"])
        assert cloud.openstack("token", "issue", env=env)["project_id"] == project["id"]
        listed = cloud.openstack("role", "assignment", "list", "--user", user["id"], "--inherited")
        assert any(row["Domain"] == domain["id"] and row["Inherited"] for row in listed), listed
        cloud.openstack("role", "remove", "--user", user["id"], "--domain", domain["id"], "--inherited", "member")
        assert "401" in cloud.openstack_fails("token", "issue", env=env).stderr
        cloud.api.request("DELETE", f"/projects/{project['id']}")
    finally:
        cloud.api.request("PATCH", f"/domains/{domain['id']}", json={"domain": {"enabled": False}})
        cloud.api.request("DELETE", f"/domains/{domain['id']}")
