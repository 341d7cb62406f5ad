"""The routing core: classify what payers send back, route it to a team's queue, prioritise it,
and track every work item to its final disposition."""
from core.routing.config import RoutingConfig, load_config
from core.routing.intake import RoutingReport, route_pending
from core.routing.queues import QueueRow, Summary, current_priority, queue_page, summary, teams_with_work
from core.routing.reprioritise import learn, reprioritise
from core.routing.states import STATES, transition
from core.routing.touches import Touch, record_touch

__all__ = [
    "QueueRow", "RoutingConfig", "RoutingReport", "STATES", "Summary", "Touch", "current_priority", "learn", "load_config",
    "queue_page", "record_touch", "reprioritise", "route_pending", "summary", "teams_with_work", "transition",
]
