"""Mesa agents of the street."""

from sim.agents.enforcement import EnforcementUnit
from sim.agents.residents import ResidentialArea
from sim.agents.supervisors import GridSupervisor
from sim.agents.workers import (
    AcceptanceClerk,
    CommitteeWorker,
    CommunityWorker,
    DepartmentOfficer,
    PartyWorker,
    PlatformOfficer,
    Worker,
)

AGENT_CLASSES = {
    "grid_supervisor": GridSupervisor,
    "platform_officer": PlatformOfficer,
    "enforcement_unit": EnforcementUnit,
    "committee_worker": CommitteeWorker,
    "party_worker": PartyWorker,
    "community_worker": CommunityWorker,
    "acceptance_clerk": AcceptanceClerk,
    "department_officer": DepartmentOfficer,
}

__all__ = [
    "AGENT_CLASSES", "AcceptanceClerk", "CommitteeWorker", "CommunityWorker", "DepartmentOfficer", "EnforcementUnit",
    "GridSupervisor", "PartyWorker", "PlatformOfficer", "ResidentialArea", "Worker",
]
