"""The partnership's roles, as Django groups holding permissions.

Code checks permissions, never group names, so an administrator can give one person a second role's
powers without a code change.
"""

from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth import get_permission_codename
from django.contrib.auth.management import create_permissions
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

AUDITOR = "auditor"
ACTION_OWNER = "action_owner"
AGENCY_LEAD = "agency_lead"
MANAGER = "manager"
EXECUTIVE = "executive"
ADMINISTRATOR = "administrator"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    AUDITOR: [
        "workflows.view_all_agencies",
        "workflows.add_recommendation",
        "workflows.change_recommendation",
        "workflows.add_action",
        "workflows.agree_action",
        "workflows.reopen_action",
        "audits.add_audit",
        "audits.change_audit",
        "audits.progress_audit",
        "audits.add_caseaudit",
        "audits.progress_case_audit",
        "audits.run_section11",
        "reviews.progress_review",
    ],
    ACTION_OWNER: [],
    # Agency leads carry out their own agency's case audits; the rules limit them to that agency.
    AGENCY_LEAD: [
        "workflows.view_agency_work",
        "workflows.agree_action",
        "workflows.add_action",
        "workflows.reopen_action",
        "audits.add_caseaudit",
        "audits.progress_case_audit",
    ],
    MANAGER: [
        "workflows.view_all_agencies",
        "workflows.work_on_all_agencies",
        "workflows.add_recommendation",
        "workflows.change_recommendation",
        "workflows.add_action",
        "workflows.agree_action",
        "workflows.sign_off_action",
        "workflows.discontinue_action",
        "workflows.decide_extension",
        "workflows.decide_change_request",
        "workflows.record_impact",
        "workflows.reopen_action",
        "workflows.import_plan",
        "audits.add_audit",
        "audits.change_audit",
        "audits.progress_audit",
        "audits.override_moderation",
        "audits.add_caseaudit",
        "audits.progress_case_audit",
        "audits.run_section11",
        "reviews.progress_review",
        "notifications.manage_chasing",
    ],
    EXECUTIVE: ["workflows.view_all_agencies"],
    ADMINISTRATOR: [
        "workflows.view_all_agencies",
        "workflows.add_agency",
        "workflows.change_agency",
        "workflows.view_agency",
        "workflows.add_person",
        "workflows.change_person",
        "workflows.view_person",
        "workflows.add_closureday",
        "workflows.change_closureday",
        "workflows.delete_closureday",
        "workflows.view_closureday",
        "auth.add_user",
        "auth.change_user",
        "auth.view_user",
        "auth.view_group",
        "audits.add_framework",
        "audits.change_framework",
        "audits.view_framework",
        "audits.add_standard",
        "audits.change_standard",
        "audits.view_standard",
        "notifications.change_chasepolicy",
        "notifications.view_chasepolicy",
        # The sign-in audit, every API token (to revoke one), and the lockout (to unlock an account).
        "accounts.view_accessevent",
        "accounts.view_apitoken",
        "accounts.change_apitoken",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    ],
}


def _declared_permissions() -> set[str]:
    """Every permission the installed models declare, as "app_label.codename"."""
    declared: set[str] = set()
    for model in global_apps.get_models():
        opts = model._meta
        codenames = [get_permission_codename(action, opts) for action in opts.default_permissions]
        codenames += [codename for codename, _ in opts.permissions]
        declared.update(f"{opts.app_label}.{codename}" for codename in codenames)
    return declared


def check_role_permissions() -> None:
    """Refuse a role table naming a permission no model declares: a typo would quietly take a power
    away from everyone in that role."""
    declared = _declared_permissions()
    unknown = sorted(name for names in ROLE_PERMISSIONS.values() for name in names if name not in declared)
    if unknown:
        raise ImproperlyConfigured(f"The role table names permissions no model has: {', '.join(unknown)}")


def sync_role_groups(*, using: str = DEFAULT_DB_ALIAS, apps: Apps = global_apps, **kwargs: Any) -> None:
    """Create each role's group and give it exactly its permissions; runs after every migrate.

    Django sends post_migrate app by app and creates each app's permissions only when that app's turn
    comes, but the roles span every app: so this first creates every migrated app's permissions itself
    (idempotent, as Django's own handler is). ``apps`` is the migrated state: apps not migrated in this
    database (``migrate <app>`` on a subset) are skipped, and their permissions join the groups on the
    migrate that brings them in.
    """
    check_role_permissions()
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
        apps.get_model("contenttypes", "ContentType")
    except LookupError:
        return  # auth or contenttypes not migrated yet: there is nowhere to keep groups
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    permissions = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in permission_model.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.using(using).get_or_create(name=role)
        group.permissions.set([permissions[name] for name in names if name in permissions])
