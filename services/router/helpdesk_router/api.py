"""HTTP API of the router: the agent roster."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from pydantic import Field

from helpdesk_router.ports import ConcurrentAgentUpdate
from helpdesk_router.roster import AGENT_ID_PATTERN, Agent, AgentProfile
from helpdesk_router.roster_service import RosterService


class AgentView(AgentProfile):
    """An agent as the router knows it: the profile, plus the open tickets it holds."""

    agent_id: str = Field(examples=["grace"])
    load: int = Field(ge=0, description="Open tickets assigned to the agent (solved and closed ones no longer count).")
    channel_loads: dict[str, int] = Field(
        default_factory=dict, description="Of those, how many came from each channel (channels with none left out)."
    )

    @classmethod
    def of(cls, agent: Agent) -> AgentView:
        held = {channel: count for channel, count in sorted(agent.channel_loads.items()) if count}
        return cls.model_validate(
            {**agent.profile.model_dump(), "agent_id": agent.agent_id, "load": agent.load, "channel_loads": held}
        )


def _roster(request: Request) -> RosterService:
    return request.app.state.roster


RosterDep = Annotated[RosterService, Depends(_roster)]
AgentId = Annotated[
    str, Path(pattern=AGENT_ID_PATTERN, description="1 to 64 letters, digits, '.', '_' or '-'.", examples=["grace"])
]

router = APIRouter(prefix="/v1", tags=["agents"])


@router.put(
    "/agents/{agent_id}",
    operation_id="put_agent",
    response_model=AgentView,
    responses={
        201: {"model": AgentView, "description": "The agent was created."},
        409: {"description": "The agent kept changing under concurrent writes; send the PUT again."},
    },
    summary="Create or replace an agent",
    description=(
        "Creates the agent (201) or replaces its profile (200); the load, the agent's open tickets, is kept. "
        "A status change is published as `agent.status_changed`. An agent online with free capacity "
        "is offered queued tickets at once, most urgent and oldest first. An agent set away or offline "
        "hands back the tickets they have not accepted (`ticket.unassigned`); they go to the next agent "
        "or wait in the queue. Tickets are offered only inside `working_hours` (none: any hour) and "
        "within `channel_capacity` for their channel."
    ),
)
async def put_agent(agent_id: AgentId, profile: AgentProfile, roster: RosterDep, response: Response) -> AgentView:
    try:
        agent, created = await roster.put(agent_id, profile)
    except ConcurrentAgentUpdate:
        raise HTTPException(status.HTTP_409_CONFLICT, f"agent {agent_id!r} changed concurrently; retry") from None
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return AgentView.of(agent)


@router.get("/agents", operation_id="list_agents", response_model=list[AgentView], summary="The roster, by agent id")
async def list_agents(roster: RosterDep) -> list[AgentView]:
    return [AgentView.of(agent) for agent in await roster.agents()]


@router.get(
    "/agents/{agent_id}",
    operation_id="get_agent",
    response_model=AgentView,
    responses={404: {"description": "No agent with this id."}},
    summary="One agent",
)
async def get_agent(agent_id: AgentId, roster: RosterDep) -> AgentView:
    agent = await roster.agent(agent_id)
    if agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id!r} on the roster")
    return AgentView.of(agent)
