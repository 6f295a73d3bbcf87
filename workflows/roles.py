"""The partnership's roles, as Django groups holding permissions.

Code checks permissions, never group names, so an administrator can give one person a second role's
powers without a code change.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission

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
        "workflows.add_recommendation",
        "workflows.change_recommendation",
        "workflows.add_action",
        "workflows.agree_action",
        "workflows.sign_off_action",
        "workflows.discontinue_action",
        "workflows.decide_extension",
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
    ],
}


def sync_role_groups(**kwargs: Any) -> None:
    """Create each role's group and give it exactly its permissions; safe to run after every migrate."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)
