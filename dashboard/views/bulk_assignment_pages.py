"""Bulk assignment: the ids behind "select all matching", the assign dialog (choose, then confirm),
the job page with live progress and its controls (retry failed, decide unknowns, undo), the toast
the prospects list shows while a job runs, and /assignments/, the list of jobs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event

from dashboard import assignment_split, bulk_assignment, submit_once
from dashboard.bulk_assignment import AssignmentRefused
from dashboard.display.links import link
from dashboard.display.row_models import JobRow
from dashboard.lists.filters import JobFilter, ProspectFilter
from dashboard.lists.list_page import list_page
from dashboard.models import BulkAssignment, get_for_user_or_404
from dashboard.people.access import account_zone, my_user_id, request_account
from dashboard.people.names import people_names, person_name
from dashboard.people.team import candidates_with_workload
from dashboard.submit_once import SubmitRefused
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine.models import Account, OutboxAssignment, Prospect

JOBS_PAGE = 30
ROWS_SHOWN = 500
PROBLEM_ROWS_SHOWN = 200


def _get_job_for_user(request: HttpRequest, job_id: int) -> BulkAssignment:
    """The job if this person may see its account, else 404."""
    queryset = BulkAssignment.objects.select_related("account", "created_by", "undo_of")
    return get_for_user_or_404(queryset, request.user, pk=job_id)


def _refused(request: HttpRequest, refusal: AssignmentRefused) -> HttpResponse:
    status = 403 if refusal.forbidden else 400
    return render(request, "assignments/dialog.html#refused", {"message": refusal.message}, status=status)


def _form_ids(request: HttpRequest) -> list[int]:
    return bulk_assignment.prospect_ids_parse(request.POST.get("ids", ""))


def _job_people(job: BulkAssignment) -> list[str]:
    names = people_names(job.user_ids, account_id=job.account_id)
    return [person_name(names, u) for u in job.user_ids]


# --- "select all N matching this filter" ----------------------------------------------------------


@require_GET
def assignment_matching(request: HttpRequest) -> HttpResponse:
    """Every prospect id the list's filter matches, computed from the mirror when the agent asks."""
    account = request_account(request)
    if account is None:
        raise Http404("No account")
    filters = ProspectFilter(request.GET, account=account, me=my_user_id(request))
    ids = list(filters.qs.order_by("-id").values_list("id", flat=True)[: bulk_assignment.MAX_PROSPECTS + 1])
    capped = len(ids) > bulk_assignment.MAX_PROSPECTS
    return JsonResponse(
        {
            "account": str(account.id),
            "ids": ids[: bulk_assignment.MAX_PROSPECTS],
            "count": min(len(ids), bulk_assignment.MAX_PROSPECTS),
            "capped": capped,
        }
    )


# --- the assign dialog ------------------------------------------------------------------------------


@require_POST
def assignment_dialog(request: HttpRequest) -> HttpResponse:
    """Step "choose" (people with their workload, note, source, the same-phone option), then
    "confirm" (the count and the names, spelled out) before anything is created."""
    account = request_account(request)
    if account is None:
        raise Http404("No account")
    try:
        ids = _form_ids(request)
        bulk_assignment.selection_check(account, ids)
        if request.POST.get("step") == "confirm":
            return _dialog_confirm(request, account, ids)
    except AssignmentRefused as refusal:
        return _refused(request, refusal)
    chosen = set(request.POST.getlist("user_ids"))
    context = {
        "account": account,
        "ids": ",".join(map(str, ids)),
        "count": len(ids),
        "candidates": candidates_with_workload(account, me=my_user_id(request)),
        "chosen": chosen,
        "sources": bulk_assignment.SOURCES,
        "source": request.POST.get("source") or bulk_assignment.DEFAULT_SOURCE,
        "note": request.POST.get("note", ""),
        "apply_in_bulk": request.POST.get("apply_in_bulk") == "on",
        "note_max": bulk_assignment.NOTE_MAX,
        "split": request.POST.get("split") or assignment_split.ALL,
        "keep_phone_together": request.POST.get("keep_phone_together") == "on",
    }
    return render(request, "assignments/dialog.html#choose", context)


def _workload_basis(request: HttpRequest, users: list[str]) -> dict[str, int] | None:
    """The open prospects per person the review showed (so the job splits as it said), if sound."""
    try:
        basis = json.loads(request.POST.get("basis", "") or "null")
    except ValueError:
        return None
    if not isinstance(basis, dict) or set(basis) != set(users):
        return None
    if not all(isinstance(v, int) and 0 <= v < 10**9 for v in basis.values()):
        return None
    return basis


def _dialog_confirm(request: HttpRequest, account: Account, ids: list[int]) -> HttpResponse:
    users = bulk_assignment.people_check(account, request.POST.getlist("user_ids"))
    source = bulk_assignment.source_check(request.POST.get("source", ""))
    apply_in_bulk = request.POST.get("apply_in_bulk") == "on"
    split = bulk_assignment.split_check(request.POST.get("split", ""))
    keep = split != assignment_split.ALL and (request.POST.get("keep_phone_together") == "on" or apply_in_bulk)
    people = bulk_assignment.assignable_people(account)
    workload = bulk_assignment.open_workload(account) if split == assignment_split.BALANCED else None
    if workload is not None:
        workload = {u: workload.get(u, 0) for u in users}
    plan = bulk_assignment.targets_plan(account, ids, users, split=split, keep_phone_together=keep, workload=workload)
    current = bulk_assignment.assignees_of(ids)
    already = sum(1 for pid in ids if current.get(pid) == set(plan.get(pid, users)))
    shares = []
    if split != assignment_split.ALL:
        one = {pid: targets[0] for pid, targets in plan.items()}
        shares = [
            {"name": people[u], "count": n, "open": (workload or {}).get(u)} for u, n in assignment_split.shares(one, users)
        ]
    extra = 0
    if apply_in_bulk:
        phones = set(Prospect.objects.filter(id__in=ids).exclude(phone_digits="").values_list("phone_digits", flat=True))
        extra = Prospect.objects.alive().filter(account=account, phone_digits__in=phones).exclude(id__in=ids).count()
    context = {
        "account": account,
        "ids": ",".join(map(str, ids)),
        "count": len(ids),
        "user_ids": users,
        "names": [people[u] for u in users],
        "source": source,
        "note": " ".join(request.POST.get("note", "").split())[: bulk_assignment.NOTE_MAX],
        "apply_in_bulk": apply_in_bulk,
        "already": already,
        "extra": extra,
        "split": split,
        "split_label": assignment_split.LABELS[split],
        "keep_phone_together": keep,
        "shares": shares,
        "basis": json.dumps(workload) if workload is not None else "",
    }
    return render(request, "assignments/dialog.html#confirm", context)


@require_POST
def assignment_create(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        raise Http404("No account")

    def create() -> str:
        job = bulk_assignment.assignment_create(
            account=account,
            by=request.user,  # type: ignore[arg-type]
            prospect_ids=_form_ids(request),
            user_ids=request.POST.getlist("user_ids"),
            note=request.POST.get("note", ""),
            source=request.POST.get("source", ""),
            apply_in_bulk=request.POST.get("apply_in_bulk") == "on",
            split=request.POST.get("split", ""),
            keep_phone_together=request.POST.get("keep_phone_together") == "on",
            workload=_workload_basis(request, request.POST.getlist("user_ids")),
        )
        return str(job.pk)

    try:
        outcome = submit_once.run_once(request, "bulk_assign", create)
    except AssignmentRefused as refusal:
        return _refused(request, refusal)
    except SubmitRefused as refusal:
        return _refused(request, AssignmentRefused(str(refusal)))
    job = _get_job_for_user(request, int(outcome.result))  # a repeat: the job the first submit created
    if getattr(request, "htmx", False):
        return trigger_client_event(_toast(request, job), "bulk:created", {"job": job.pk})
    return redirect("assignment", job_id=job.pk)


# --- a job: page, progress, toast, controls ---------------------------------------------------------


def _job_context(request: HttpRequest, job: BulkAssignment) -> dict[str, Any]:
    progress = bulk_assignment.job_progress(job)
    undo_job = BulkAssignment.objects.filter(undo_of=job).first()
    # Undo is offered only when it would put someone back, saying how many (and what it must leave).
    undo_open = bulk_assignment.undo_available(job, progress, undone=undo_job is not None)
    undo_plan = bulk_assignment.undo_plan(job) if undo_open else None
    return {
        "job": job,
        "progress": progress,
        "people": _job_people(job),
        "can_control": bulk_assignment.job_can_control(request.user, job),
        "undo_available": bool(undo_plan and undo_plan.restores),
        "undo_plan": undo_plan,
        "undo_job": undo_job,
    }


@require_GET
def assignment_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _get_job_for_user(request, job_id)
    context = _job_context(request, job)
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "job-progress":
        if request.GET.get("was", context["progress"].status) != context["progress"].status:
            return HttpResponseClientRefresh()  # the rows and the decisions below changed too
        return render_zoned(request, "assignments/detail.html#progress", context, account_zone(job.account))
    rows = OutboxAssignment.objects.filter(job_id=job.pk).select_related("prospect").order_by("id")
    problems = list(rows.filter(state__in=[OutboxAssignment.State.FAILED, OutboxAssignment.State.UNKNOWN])[:PROBLEM_ROWS_SHOWN])
    shown = list(rows.defer("log")[:ROWS_SHOWN])
    if job.split != assignment_split.ALL:
        given = Counter(u[0] for u in rows.values_list("user_ids", flat=True) if u)
        names = people_names(job.user_ids, account_id=job.account_id)
        context["shares"] = [(person_name(names, u), given.get(u, 0)) for u in job.user_ids]
        context["split_label"] = assignment_split.LABELS.get(job.split, job.split)
    context |= {
        "title": f"Bulk assign #{job.pk}",
        "problems": problems,
        "rows": shown,
        "rows_more": context["progress"].total - len(shown),
    }
    return render_zoned(request, "assignments/detail.html", context, account_zone(job.account))


@require_GET
def assignment_toast(request: HttpRequest, job_id: int) -> HttpResponse:
    return _toast(request, _get_job_for_user(request, job_id))


def _toast(request: HttpRequest, job: BulkAssignment) -> HttpResponse:
    return render(request, "assignments/toast.html", _job_context(request, job))


def _controlled_job(request: HttpRequest, job_id: int) -> BulkAssignment:
    job = _get_job_for_user(request, job_id)
    if not bulk_assignment.job_can_control(request.user, job):
        raise PermissionError
    return job


def _after_control(request: HttpRequest, job: BulkAssignment) -> HttpResponse:
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "bulk-toast":  # the list's toast now follows this job (an undo is a new one)
        return trigger_client_event(_toast(request, job), "bulk:created", {"job": job.pk})
    return redirect("assignment", job_id=job.pk)


def _forbidden() -> HttpResponse:
    return HttpResponse("Only the person who started this assignment, or a manager, can do that.", status=403)


def _key_refused(refusal: SubmitRefused) -> HttpResponse:
    return HttpResponse(str(refusal), status=400)


@require_POST
def assignment_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = _controlled_job(request, job_id)
    except PermissionError:
        return _forbidden()

    def retry() -> str:
        bulk_assignment.assignment_retry_failed(job, by=request.user)  # type: ignore[arg-type]
        return str(job.pk)

    try:
        submit_once.run_once(request, f"retry:{job.pk}", retry)
    except SubmitRefused as refusal:
        return _key_refused(refusal)
    return _after_control(request, job)


@require_POST
def assignment_undo(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = _controlled_job(request, job_id)
    except PermissionError:
        return _forbidden()

    def undo() -> str:
        return str(bulk_assignment.assignment_undo(job, by=request.user).pk)  # type: ignore[arg-type]

    try:
        outcome = submit_once.run_once(request, f"undo:{job.pk}", undo)
    except AssignmentRefused as refusal:
        return HttpResponse(refusal.message, status=409)
    except SubmitRefused as refusal:
        return _key_refused(refusal)
    return _after_control(request, _get_job_for_user(request, int(outcome.result)))


@require_POST
def assignment_decide(request: HttpRequest, job_id: int, row_id: int, decision: str) -> HttpResponse:
    try:
        job = _controlled_job(request, job_id)
    except PermissionError:
        return _forbidden()
    if decision not in ("sent", "resend"):
        raise Http404("No such decision")

    def decide() -> str:
        bulk_assignment.assignment_decide(job, row_id, decision, by=request.user)  # type: ignore[arg-type]
        return str(job.pk)

    try:
        submit_once.run_once(request, f"decide:{row_id}", decide)
    except SubmitRefused as refusal:
        return _key_refused(refusal)
    return redirect("assignment", job_id=job.pk)


# --- /assignments/ ------------------------------------------------------------------------------------


@require_GET
def assignment_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Assignments")
    filters = JobFilter(request.GET, account=account)
    jobs = filters.qs.select_related("created_by", "undo_of")
    listed = list_page(
        request, account, filters, jobs, "assignments/list.html", title="Assignments", size=JOBS_PAGE, count_cap=None, parts=False
    )
    page = listed.page
    progress = bulk_assignment.progress_counts([j.pk for j in page.rows])
    names = people_names((u for j in page.rows for u in j.user_ids), account_id=account.pk)
    rows = [
        JobRow(
            id=job.pk,
            url=link("assignment", job.pk),
            is_undo=job.kind == BulkAssignment.Kind.UNDO,
            undo_of_id=job.undo_of_id,
            created_at=job.created_at,
            created_by=(job.created_by.get_full_name() or job.created_by.get_username()) if job.created_by else "someone",
            people=tuple(person_name(names, u) for u in job.user_ids),
            progress=progress[job.pk],
        )
        for job in page.rows
    ]
    return render_zoned(request, listed.template, listed.context | {"rows": rows}, account_zone(account))
