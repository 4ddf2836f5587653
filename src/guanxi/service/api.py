"""Service desk endpoints: tickets (CRUD, reply, status, assign), queues, SLA policies, canned replies, email in."""

import base64
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from guanxi.api.pagination import CappedPageNumbers, PageNumbers
from guanxi.api.schemas import InputSchema
from guanxi.core.http import AuthedRequest
from guanxi.core.models import Team, User
from guanxi.customers.selectors import contacts_visible_to

from . import mail, selectors, services
from .models import BusinessCalendar, Queue, SlaPolicy, TicketMessage

router = Router(tags=["service"])


def require_perm(request: AuthedRequest, *perms: str) -> None:
    if not request.user.has_perms(perms):
        raise PermissionDenied


# --- schemas ----------------------------------------------------------------------------------


class TicketOut(Schema):
    id: int
    number: str
    subject: str
    status: str
    priority: str
    channel: str
    category: str
    queue_id: int | None
    owner_id: int | None = Field(description="The assignee.")
    team_id: int | None
    contact_id: int | None
    account_id: int | None
    lead_id: int | None
    requester_email: str
    requester_name: str
    language: str
    sla_policy_id: int | None
    opened_at: datetime
    first_response_due: datetime | None
    first_response_at: datetime | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla_due: datetime | None
    paused_at: datetime | None
    paused_minutes: int
    first_response_minutes: int | None
    first_response_business_minutes: int | None
    resolution_minutes: int | None
    resolution_business_minutes: int | None
    reopen_count: int
    handoff_count: int
    first_contact_resolution: bool | None
    handle_seconds: int
    breached_at: datetime | None
    escalated_at: datetime | None


class TicketIn(InputSchema):
    subject: str
    body: str = Field(description="The customer's request.")
    channel: str = Field("api", description="phone, visit, email, portal, web_form, api, chat or social")
    email: str = ""
    phone: str = ""
    name: str = ""
    category: str = ""
    priority: str = "normal"
    queue_id: int | None = None
    assignee_id: int | None = None
    contact_id: int | None = None
    language: str = ""


class TicketPatch(InputSchema):
    subject: str | None = None
    category: str | None = None
    priority: str | None = None


class AttachmentIn(InputSchema):
    filename: str
    content_base64: str
    content_type: str = ""


class ReplyIn(InputSchema):
    body: str
    kind: str = Field("reply", description="reply (public, emailed to the customer) or note (internal)")
    wait_on_customer: bool = False
    time_spent_seconds: int = 0
    attachments: list[AttachmentIn] = Field(default_factory=list)
    canned_response_id: int | None = Field(None, description="Fill `body` from this canned response when empty.")


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int


class MessageOut(Schema):
    id: int
    kind: str
    author_id: int | None
    from_customer: bool
    from_email: str
    body: str
    created_at: datetime
    message_id: str
    emailed_at: datetime | None
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj: TicketMessage) -> list[Any]:
        return list(obj.attachments.all())


class StatusIn(InputSchema):
    status: str


class AssignIn(InputSchema):
    assignee_id: int | None = Field(None, description="The agent; null leaves the ticket unassigned.")
    queue_id: int | None = Field(None, description="Move to this queue (its rule picks the agent).")


class QueueOut(Schema):
    id: int
    name: str
    team_id: int | None
    categories: list[str]
    assignment: str
    is_default: bool
    agent_ids: list[int]

    @staticmethod
    def resolve_agent_ids(obj: Queue) -> list[int]:
        return [a.pk for a in obj.agents.all()]


class QueueIn(InputSchema):
    name: str
    team_id: int | None = None
    categories: list[str] = Field(default_factory=list)
    assignment: str = "round_robin"
    is_default: bool = False
    agent_ids: list[int] = Field(default_factory=list)


class QueuePatch(InputSchema):
    name: str | None = None
    team_id: int | None = None
    categories: list[str] | None = None
    assignment: str | None = None
    is_default: bool | None = None
    agent_ids: list[int] | None = None


class PolicyOut(Schema):
    id: int
    name: str
    order: int
    priority: str
    tier: str
    category: str
    calendar_id: int
    first_response_minutes: int
    resolution_minutes: int
    warn_before_minutes: int
    notify: bool
    escalate_queue_id: int | None
    escalate_user_id: int | None
    raise_priority: bool
    active: bool


class PolicyIn(InputSchema):
    name: str
    order: int = 100
    priority: str = ""
    tier: str = ""
    category: str = ""
    calendar_id: int
    first_response_minutes: int = Field(ge=1)
    resolution_minutes: int = Field(ge=1)
    warn_before_minutes: int = Field(30, ge=0)
    notify: bool = True
    escalate_queue_id: int | None = None
    escalate_user_id: int | None = None
    raise_priority: bool = False
    active: bool = True


class PolicyPatch(InputSchema):
    name: str | None = None
    order: int | None = None
    priority: str | None = None
    tier: str | None = None
    category: str | None = None
    first_response_minutes: int | None = Field(None, ge=1)
    resolution_minutes: int | None = Field(None, ge=1)
    warn_before_minutes: int | None = Field(None, ge=0)
    notify: bool | None = None
    raise_priority: bool | None = None
    active: bool | None = None


class CannedOut(Schema):
    id: int
    title: str
    body: str
    language: str
    category: str


class CountsOut(Schema):
    id: int | None
    name: str
    open: int
    overdue: int
    breached: int


class StatsOut(Schema):
    agents: list[CountsOut]
    queues: list[CountsOut]


class InboundOut(Schema):
    ticket_id: int
    number: str
    message_id: int
    created: bool


class TicketFilters(Schema):
    tab: str = Field("all", description="mine, queue, overdue, breached or all")
    status: str = ""
    q: str = ""


# --- tickets ------------------------------------------------------------------------------------


def _ticket(request: AuthedRequest, ticket_id: int, action: str = "view") -> Any:
    return get_object_or_404(selectors.tickets_visible_to(request.user, action), pk=ticket_id)


def _agent(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ValidationError({"assignee_id": _("No such user.")})
    return user


def _queue(queue_id: int | None, field: str = "queue_id") -> Queue | None:
    if queue_id is None:
        return None
    queue = Queue.objects.filter(pk=queue_id).first()
    if queue is None:
        raise ValidationError({field: _("No such queue.")})
    return queue


@router.get("/service/tickets", response=list[TicketOut])
@paginate(CappedPageNumbers)
def tickets_list(request: AuthedRequest, filters: Query[TicketFilters]) -> Any:
    """One tab of the agent's queue view, soonest SLA deadline first. The total stops at 10,000 (see
    `count_capped`)."""
    require_perm(request, "service.view_ticket")
    if filters.tab not in selectors.TABS:
        raise ValidationError({"tab": _("Choose mine, queue, overdue, breached or all.")})
    rows = selectors.tickets_queue(user=request.user, tab=filters.tab, q=filters.q)
    return rows.filter(status=filters.status) if filters.status else rows


@router.post("/service/tickets", response={201: TicketOut})
def ticket_create(request: AuthedRequest, body: TicketIn) -> Any:
    require_perm(request, "service.add_ticket")
    data = body.dict()
    contact, contact_id = None, data.pop("contact_id")
    if contact_id is not None:
        contact = contacts_visible_to(request.user).filter(pk=contact_id).first()
        if contact is None:
            raise ValidationError({"contact_id": _("No such contact.")})
    ticket = services.ticket_create(
        actor=request.user,
        queue=_queue(data.pop("queue_id")),
        assignee=_agent(data.pop("assignee_id")),
        contact=contact,
        **data,
    )
    return Status(201, ticket)


@router.get("/service/tickets/{ticket_id}", response=TicketOut)
def ticket_detail(request: AuthedRequest, ticket_id: int) -> Any:
    require_perm(request, "service.view_ticket")
    return _ticket(request, ticket_id)


@router.patch("/service/tickets/{ticket_id}", response=TicketOut)
def ticket_update(request: AuthedRequest, ticket_id: int, body: TicketPatch) -> Any:
    require_perm(request, "service.change_ticket")
    ticket = _ticket(request, ticket_id, "change")
    data = body.dict(exclude_unset=True)
    priority = data.pop("priority", None)
    if data:
        services.ticket_update(ticket=ticket, actor=request.user, **data)
    if priority is not None:
        services.ticket_set_priority(ticket=ticket, priority=priority, actor=request.user)
    return ticket


@router.delete("/service/tickets/{ticket_id}", response={204: None})
def ticket_delete(request: AuthedRequest, ticket_id: int) -> Any:
    require_perm(request, "service.delete_ticket")
    services.ticket_delete(ticket=_ticket(request, ticket_id, "delete"), actor=request.user)
    return Status(204, None)


@router.get("/service/tickets/{ticket_id}/messages", response=list[MessageOut])
@paginate(PageNumbers)
def ticket_messages(request: AuthedRequest, ticket_id: int) -> Any:
    require_perm(request, "service.view_ticket")
    return selectors.ticket_conversation(_ticket(request, ticket_id))


@router.post("/service/tickets/{ticket_id}/reply", response={201: MessageOut})
def ticket_reply(request: AuthedRequest, ticket_id: int, body: ReplyIn) -> Any:
    require_perm(request, "service.change_ticket", "service.add_ticketmessage")
    ticket = _ticket(request, ticket_id, "change")
    text = body.body
    if not text.strip() and body.canned_response_id is not None:
        canned = get_object_or_404(selectors.canned_for(request.user), pk=body.canned_response_id)
        text = services.canned_render(canned=canned, ticket=ticket, agent=request.user)
    uploads = []
    for item in body.attachments:
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except ValueError:
            raise ValidationError(
                {"attachments": _("“%(name)s” is not valid base64.") % {"name": item.filename}}
            ) from None
        uploads.append(services.Upload(filename=item.filename, content=content, content_type=item.content_type))
    message = services.ticket_reply(
        ticket=ticket,
        actor=request.user,
        body=text,
        kind=body.kind,
        wait_on_customer=body.wait_on_customer,
        time_spent_seconds=body.time_spent_seconds,
        attachments=uploads,
    )
    return Status(201, message)


@router.post("/service/tickets/{ticket_id}/status", response=TicketOut)
def ticket_status(request: AuthedRequest, ticket_id: int, body: StatusIn) -> Any:
    require_perm(request, "service.change_ticket")
    return services.ticket_set_status(
        ticket=_ticket(request, ticket_id, "change"), status=body.status, actor=request.user
    )


@router.post("/service/tickets/{ticket_id}/assign", response=TicketOut)
def ticket_assign(request: AuthedRequest, ticket_id: int, body: AssignIn) -> Any:
    require_perm(request, "service.change_ticket")
    ticket = _ticket(request, ticket_id, "change")
    queue = _queue(body.queue_id)
    if queue is not None:
        services.ticket_move(ticket=ticket, queue=queue, actor=request.user)
    if "assignee_id" in body.model_fields_set or queue is None:
        services.ticket_assign(ticket=ticket, assignee=_agent(body.assignee_id), actor=request.user)
    return ticket


@router.get("/service/stats", response=StatsOut)
def service_stats(request: AuthedRequest) -> Any:
    """Open, overdue and breached tickets per agent and per queue, within the caller's scope."""
    require_perm(request, "service.view_ticket")
    return {
        "agents": selectors.ticket_counts(user=request.user, by="owner"),
        "queues": selectors.ticket_counts(user=request.user, by="queue"),
    }


@router.post("/service/inbound-email", response={201: InboundOut, 200: InboundOut})
def inbound_email(request: AuthedRequest) -> Any:
    """Send one raw RFC 5322 message as the request body (Content-Type: message/rfc822): it becomes a ticket
    or a reply on its thread. Needs the permission to add tickets."""
    require_perm(request, "service.add_ticket")
    ticket, message, created = mail.inbound_email(raw=request.body, actor=request.user)
    out = {"ticket_id": ticket.pk, "number": ticket.number, "message_id": message.pk, "created": created}
    return Status(201 if created else 200, out)


# --- queues, policies, canned responses ------------------------------------------------------------


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError({"team_id": _("No such team.")})
    return team


def _agents(ids: list[int] | None) -> list[User] | None:
    if ids is None:
        return None
    agents = list(User.objects.filter(pk__in=ids))
    if len(agents) != len(set(ids)):
        raise ValidationError({"agent_ids": _("Some of these users do not exist.")})
    return agents


@router.get("/service/queues", response=list[QueueOut])
@paginate(PageNumbers)
def queues_list(request: AuthedRequest) -> Any:
    require_perm(request, "service.view_queue")
    return selectors.queues_for(request.user)


@router.post("/service/queues", response={201: QueueOut})
def queue_create(request: AuthedRequest, body: QueueIn) -> Any:
    require_perm(request, "service.add_queue")
    data = body.dict()
    team, agents = _team(data.pop("team_id")), _agents(data.pop("agent_ids"))
    return Status(201, services.queue_save(actor=request.user, team=team, agents=agents, **data))


@router.patch("/service/queues/{queue_id}", response=QueueOut)
def queue_update(request: AuthedRequest, queue_id: int, body: QueuePatch) -> Any:
    require_perm(request, "service.change_queue")
    queue = get_object_or_404(selectors.queues_for(request.user), pk=queue_id)
    data = body.dict(exclude_unset=True)
    agents = _agents(data.pop("agent_ids", None))
    if "team_id" in data:
        data["team"] = _team(data.pop("team_id"))
    return services.queue_save(actor=request.user, queue=queue, agents=agents, **data)


@router.get("/service/policies", response=list[PolicyOut])
@paginate(PageNumbers)
def policies_list(request: AuthedRequest) -> Any:
    require_perm(request, "service.view_slapolicy")
    return selectors.policies_for(request.user)


def _policy_refs(data: dict[str, Any]) -> dict[str, Any]:
    if "calendar_id" in data:
        calendar = BusinessCalendar.objects.filter(pk=data.pop("calendar_id")).first()
        if calendar is None:
            raise ValidationError({"calendar_id": _("No such calendar.")})
        data["calendar"] = calendar
    if "escalate_queue_id" in data:
        data["escalate_queue"] = _queue(data.pop("escalate_queue_id"), "escalate_queue_id")
    if "escalate_user_id" in data:
        data["escalate_user"] = _agent(data.pop("escalate_user_id"))
    return data


@router.post("/service/policies", response={201: PolicyOut})
def policy_create(request: AuthedRequest, body: PolicyIn) -> Any:
    require_perm(request, "service.add_slapolicy")
    return Status(201, services.sla_policy_save(actor=request.user, **_policy_refs(body.dict())))


@router.patch("/service/policies/{policy_id}", response=PolicyOut)
def policy_update(request: AuthedRequest, policy_id: int, body: PolicyPatch) -> Any:
    require_perm(request, "service.change_slapolicy")
    policy: SlaPolicy = get_object_or_404(selectors.policies_for(request.user), pk=policy_id)
    data = body.dict(exclude_unset=True)
    data.setdefault("first_response_minutes", policy.first_response_minutes)
    data.setdefault("resolution_minutes", policy.resolution_minutes)
    return services.sla_policy_save(actor=request.user, policy=policy, **data)


@router.get("/service/canned-responses", response=list[CannedOut])
@paginate(PageNumbers)
def canned_list(request: AuthedRequest, language: str = "") -> Any:
    require_perm(request, "service.view_cannedresponse")
    return selectors.canned_for(request.user, language=language)


# --- knowledge base -------------------------------------------------------------------------------

from . import kb  # noqa: E402
from .models import KbArticle, KbCategory  # noqa: E402


class KbCategoryOut(Schema):
    id: int
    name_zh: str
    name_en: str
    order: int


class KbArticleOut(Schema):
    id: int
    category_id: int | None
    status: str = Field(description="draft or published")
    audience: str = Field(description="internal (staff only) or public (anyone, the portal and the help centre)")
    title: str = Field(description="The title in the caller's language, else the other one.")
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    helpful_count: int
    not_helpful_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class KbArticleIn(InputSchema):
    category_id: int | None = None
    status: str = Field("draft", description="draft or published")
    audience: str = Field("internal", description="internal or public")
    title_zh: str = ""
    body_zh: str = ""
    title_en: str = ""
    body_en: str = ""


class KbArticlePatch(InputSchema):
    category_id: int | None = None
    status: str | None = None
    audience: str | None = None
    title_zh: str | None = None
    body_zh: str | None = None
    title_en: str | None = None
    body_en: str | None = None


class KbFilters(Schema):
    q: str = Field("", description="Words in Chinese or English; best matches first (title before text).")
    category_id: int | None = None


class KbVoteIn(InputSchema):
    helpful: bool
    visitor: str = Field(
        "", max_length=60, description="Who answered, as your system knows them; one vote per caller and visitor."
    )


class KbVoteOut(Schema):
    counted: bool
    helpful_count: int
    not_helpful_count: int


def _kb_category(category_id: int | None) -> KbCategory | None:
    if category_id is None:
        return None
    category = KbCategory.objects.filter(pk=category_id).first()
    if category is None:
        raise ValidationError({"category_id": _("No such category.")})
    return category


def _kb_article(request: AuthedRequest, article_id: int) -> KbArticle:
    return get_object_or_404(kb.kb_articles_visible_to(request.user), pk=article_id)


@router.get("/service/kb/categories", response=list[KbCategoryOut])
def kb_categories_list(request: AuthedRequest) -> Any:
    require_perm(request, "service.view_kbcategory")
    return kb.kb_categories()


@router.get("/service/kb/articles", response=list[KbArticleOut])
@paginate(PageNumbers)
def kb_articles_list(request: AuthedRequest, filters: Query[KbFilters]) -> Any:
    """Articles the caller may read (drafts only for editors), or the matches of `q`, best first."""
    require_perm(request, "service.view_kbarticle")
    category = _kb_category(filters.category_id)
    hits = kb.kb_search(articles=kb.kb_articles_visible_to(request.user), q=filters.q, category=category)
    return [hit.article for hit in hits]


@router.post("/service/kb/articles", response={201: KbArticleOut})
def kb_article_create(request: AuthedRequest, body: KbArticleIn) -> Any:
    require_perm(request, "service.add_kbarticle")
    data = body.dict()
    category = _kb_category(data.pop("category_id"))
    return Status(201, kb.kb_article_save(actor=request.user, category=category, **data))


@router.get("/service/kb/articles/{article_id}", response=KbArticleOut)
def kb_article_detail(request: AuthedRequest, article_id: int) -> Any:
    require_perm(request, "service.view_kbarticle")
    return _kb_article(request, article_id)


@router.patch("/service/kb/articles/{article_id}", response=KbArticleOut)
def kb_article_update(request: AuthedRequest, article_id: int, body: KbArticlePatch) -> Any:
    require_perm(request, "service.change_kbarticle")
    article = _kb_article(request, article_id)
    data = body.dict(exclude_unset=True)
    fields: dict[str, Any] = {
        "category": _kb_category(data.pop("category_id")) if "category_id" in data else article.category,
        **{
            name: getattr(article, name)
            for name in ("status", "audience", "title_zh", "body_zh", "title_en", "body_en")
        },
    }
    fields.update({name: value for name, value in data.items() if value is not None})
    return kb.kb_article_save(actor=request.user, article=article, **fields)


@router.get("/service/kb/suggest", response=list[KbArticleOut])
def kb_suggest(request: AuthedRequest, q: str = "") -> Any:
    """The five published articles that best match `q` (what a customer or agent is typing)."""
    require_perm(request, "service.view_kbarticle")
    return kb.kb_suggest(user=request.user, q=q)


@router.post("/service/kb/articles/{article_id}/vote", response=KbVoteOut)
def kb_article_vote(request: AuthedRequest, article_id: int, body: KbVoteIn) -> Any:
    """Record "did this help?" for a published article, once per caller and `visitor`."""
    require_perm(request, "service.view_kbarticle")
    article = get_object_or_404(
        kb.kb_articles_visible_to(request.user).filter(status=KbArticle.Status.PUBLISHED), pk=article_id
    )
    voter = f"api:{request.user.pk}:{body.visitor}"
    counted = kb.kb_article_vote(article=article, helpful=body.helpful, voter=voter, actor=request.user)
    return {"counted": counted, "helpful_count": article.helpful_count, "not_helpful_count": article.not_helpful_count}


# --- portal accounts (staff) ------------------------------------------------------------------------

from guanxi.customers.models import Contact  # noqa: E402

from . import portal  # noqa: E402
from .models import PortalAccount  # noqa: E402


class PortalAccountOut(Schema):
    id: int
    contact_id: int
    contact_name: str = Field(description="The contact's full name.")
    email: str = Field(description="The sign-in email (the contact's, lower-case).")
    language: str
    is_active: bool
    has_password: bool = Field(description="The customer has set a password (else they sign in by emailed link).")
    invited_at: datetime | None
    invited_by_id: int | None
    last_login_at: datetime | None
    deactivated_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_contact_name(obj: PortalAccount) -> str:
        return obj.contact.full_name


class PortalInviteIn(InputSchema):
    contact_id: int
    language: str = Field("", description="zh-hans or en; the customer's emails and portal pages use it.")


class PortalFilters(Schema):
    active: bool | None = Field(None, description="true: only active accounts; false: only deactivated ones.")
    contact_id: int | None = None


def _portal_accounts(request: AuthedRequest) -> Any:
    """Portal accounts of the contacts the caller may view."""
    contacts = contacts_visible_to(request.user)
    return PortalAccount.objects.filter(contact__in=contacts).select_related("contact")


def _portal_account(request: AuthedRequest, account_id: int) -> PortalAccount:
    return get_object_or_404(_portal_accounts(request), pk=account_id)


@router.get("/service/portal-accounts", response=list[PortalAccountOut])
@paginate(PageNumbers)
def portal_accounts_list(request: AuthedRequest, filters: Query[PortalFilters]) -> Any:
    """Customers' portal sign-ins, for the contacts the caller may view, by email."""
    require_perm(request, "service.view_portalaccount")
    rows = _portal_accounts(request)
    if filters.active is not None:
        rows = rows.filter(is_active=filters.active)
    if filters.contact_id is not None:
        rows = rows.filter(contact_id=filters.contact_id)
    return rows


@router.get("/service/portal-accounts/{account_id}", response=PortalAccountOut)
def portal_account_detail(request: AuthedRequest, account_id: int) -> Any:
    require_perm(request, "service.view_portalaccount")
    return _portal_account(request, account_id)


@router.post("/service/portal-accounts", response={201: PortalAccountOut})
def portal_account_invite(request: AuthedRequest, body: PortalInviteIn) -> Any:
    """Invite a contact to the customer portal: creates their account and emails them a sign-in link. A contact
    who already has an account is refused (reactivate a deactivated one instead)."""
    require_perm(request, "service.add_portalaccount")
    contact: Contact | None = contacts_visible_to(request.user).filter(pk=body.contact_id).first()
    if contact is None:
        raise ValidationError({"contact_id": _("No such contact.")})
    if body.language and body.language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the offered languages.")})
    try:
        account = portal.portal_invite(contact=contact, actor=request.user, language=body.language, only_new=True)
    except ValidationError as exc:  # the contact's email or state: name the field the caller sent
        raise ValidationError({"contact_id": exc.messages}) from None
    return Status(201, account)


@router.post("/service/portal-accounts/{account_id}/deactivate", response=PortalAccountOut)
def portal_account_deactivate(request: AuthedRequest, account_id: int) -> Any:
    """Switch off portal access: the customer's open sessions end and their sign-in links stop working."""
    require_perm(request, "service.change_portalaccount")
    return portal.portal_deactivate(account=_portal_account(request, account_id), actor=request.user)


@router.post("/service/portal-accounts/{account_id}/reactivate", response=PortalAccountOut)
def portal_account_reactivate(request: AuthedRequest, account_id: int) -> Any:
    """Switch portal access back on and email the customer a fresh sign-in link (nothing happens if active)."""
    require_perm(request, "service.change_portalaccount")
    try:
        return portal.portal_reactivate(account=_portal_account(request, account_id), actor=request.user)
    except ValidationError as exc:  # e.g. the contact lost their email or was archived meanwhile
        raise ValidationError({"account_id": exc.messages}) from None
