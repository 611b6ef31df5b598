"""Recording storage (Azure Blob Storage document): upload, usage, limits, delete, download, signed URLs.

The bytes live in a back end (``files/blobstore.py``): under ``<data dir>/blobs`` by default, or in an Azure
Blob Storage container when ``storage_quota.azure_account`` is set; the metadata, with the back end's name, is
in the ``blobs`` collection. Per-user routes are for the user themself or an admin; the recording must exist,
belong to that user and be of that room, else 404. A signed URL (``sas-url``) is, on Azure, a service SAS URL
on the Azure endpoint; embedded, an HMAC-signed link to ``GET /blob/{token}``. Either needs no login and
expires after ``storage_quota.sas_ttl_s``: the URL is the capability.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any
from urllib.parse import quote, unquote

import trio
from quart import request

from altegon_rt.api.body_limit import BODY_STREAM
from altegon_rt.api.downloads import attachment
from altegon_rt.api.multipart import MultipartUpload, boundary_of
from altegon_rt.api.routing import ADMIN, PUBLIC, Call, Reply, endpoint
from altegon_rt.api.schema import Field, Schema
from altegon_rt.api.services import Services
from altegon_rt.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    InsufficientStorage,
    NotFound,
    PayloadTooLarge,
)
from altegon_rt.files.blobstore import BlobMissing, BlobPlace, BlobStore, BlobStores
from altegon_rt.files.disk import TooLarge
from altegon_rt.files.names import sanitise
from altegon_rt.files.quota import storage_limit, user_lock
from altegon_rt.files.signing import BadSignature, UrlSigner
from altegon_rt.store.blobs import BlobNameTaken

log = logging.getLogger(__name__)

GB = 1024**3
# Multipart framing and small form fields around the file: a declared body this much over the remaining
# quota is still read, and the running size decides.
FRAMING_SLACK = 16 * 1024
BASE = "/recordings/user/{userId}/room/{roomId}/recording/{recordingId}"
BLOB_UPLOAD_PATTERN = r"/recordings/user/[^/]+/room/[^/]+/recording/[^/]+/upload-to-blob"

USER_ID = Field("userId", "objectid", description="The user's id")
ROOM_ID = Field("roomId", "objectid", description="The recording's room")
RECORDING_ID = Field("recordingId", "id", max_length=128, description="The recording's id")
FILE_NAME = Field("fileName", "string", max_length=300, description="The file's name as stored")
RECORDING_PARAMS = (USER_ID, ROOM_ID, RECORDING_ID)
FILE_PARAMS = (*RECORDING_PARAMS, FILE_NAME)
STORAGE_LIMIT = Schema(
    "StorageLimitRequest",
    (Field("storageLimit", "integer", minimum=1, maximum=2**53, aliases=("newLimit",),
           description="New storage limit in bytes (newLimit is accepted too)", example=10737418240),),
)  # fmt: skip


def _gb(n: int) -> str:
    return f"{n / GB:.2f}"


def _stores(s: Services) -> BlobStores:
    assert s.blobs is not None, "set by the Server"
    return s.blobs


def blob_url(doc: dict[str, Any]) -> str:
    rec, name = quote(doc["recordingId"], safe=""), quote(doc["fileName"], safe="")
    return f"/recordings/user/{doc['userId']}/room/{doc['roomId']}/recording/{rec}/file/{name}"


async def _limit(s: Services, user_id: str) -> int:
    return await storage_limit(s.store, s.config.storage_quota, user_id)


def _warnings(usage: int, limit: int) -> list[dict[str, str]]:
    if usage > limit:
        return [{"type": "limit", "message": f"You have exceeded your storage limit by {_gb(usage - limit)} GB."}]
    for threshold in (90, 75):
        if usage * 100 >= threshold * limit:
            return [{"type": "usage", "message": f"You have used {threshold}% of your storage limit."}]
    return []


async def storage_summary(s: Services, user_id: str) -> dict[str, Any]:
    usage, count = await s.store.blobs.usage(user_id)
    limit = await _limit(s, user_id)
    available, exceed = max(limit - usage, 0), max(usage - limit, 0)
    return {
        "totalUsage": usage, "totalUsageGB": _gb(usage), "availableStorage": available,
        "availableStorageGB": _gb(available), "storageLimit": limit, "storageLimitGB": _gb(limit),
        "isLimitExceeded": usage > limit, "exceedAmount": exceed, "exceedAmountGB": _gb(exceed),
        "usagePercentage": round(usage * 100 / limit), "recordingsCount": count,
        "warnings": _warnings(usage, limit),
    }  # fmt: skip


def _listed(doc: dict[str, Any]) -> dict[str, Any]:
    fields = ("recordingId", "roomId", "fileName", "fileSize", "uploadedAt")
    return {**{k: doc[k] for k in fields}, "blobUrl": blob_url(doc)}


async def _recording(call: Call) -> tuple[str, str, str]:
    user_id, room_id, rec_id = call.path["userId"], call.path["roomId"], call.path["recordingId"]
    call.target = {"type": "recording", "userId": user_id, "roomId": room_id, "id": rec_id}
    if "fileName" in call.path:
        call.target["file"] = call.path["fileName"]
    call.require_self_or_admin(user_id, "recordings")
    recording = await call.services.store.recordings.by_recording_id(rec_id)
    if recording is None or recording["ownerId"] != user_id or recording["roomId"] != room_id:
        raise NotFound("recording not found")
    return user_id, room_id, rec_id


async def _blob(call: Call) -> dict[str, Any]:
    user_id, room_id, rec_id = await _recording(call)
    doc = await call.services.store.blobs.get(user_id, room_id, rec_id, call.path["fileName"])
    if doc is None:
        raise NotFound("file not found")
    return doc


async def _file_then_rest(upload: MultipartUpload) -> AsyncIterator[bytes]:
    """The file's bytes, then the rest of the body read and checked before the iteration ends.

    A back end stores a blob only once its chunks are exhausted (disk: renames the ``.part`` file; Azure:
    commits the block list), so an empty file or a malformed or second file part fails before anything exists.
    """
    size = 0
    async for chunk in upload.file_data():
        size += len(chunk)
        yield chunk
    await upload.finish()
    if size == 0:
        raise BadRequest("the file is empty", code="empty_file")


async def _discard(store: BlobStore, place: BlobPlace, key: str) -> None:
    """Remove a stored blob whose upload failed after all; the failure that got us here is what the client sees."""
    with trio.CancelScope(shield=True):
        try:
            await store.remove(place, key)
        except ApiError as exc:
            log.warning("could not remove the %s blob %s of a failed upload: %s", store.name, key, exc.message)


def _name_taken() -> Conflict:
    return Conflict("the recording has a file of this name; delete it first", code="name_taken")


async def _store_upload(call: Call, upload: MultipartUpload, file_name: str, remaining: int) -> dict[str, Any]:
    s = call.services
    store, place = _stores(s).current, BlobPlace(call.path["userId"], call.path["roomId"], call.path["recordingId"])
    max_upload = s.config.storage_quota.max_upload_bytes
    try:
        async with aclosing(_file_then_rest(upload)) as chunks:
            written = await store.write(place, chunks, min(remaining, max_upload))
    except TooLarge:
        if remaining < max_upload:
            raise InsufficientStorage("the file does not fit in your storage limit; nothing was kept") from None
        raise PayloadTooLarge(f"the file is larger than {max_upload} bytes") from None
    record = {
        "userId": place.user_id, "roomId": place.room_id, "recordingId": place.recording_id, "fileName": file_name,
        "fileSize": written.size, "sha256": written.sha256, "diskName": written.disk_name, "backend": store.name,
    }  # fmt: skip
    try:
        return await s.store.blobs.add(record)
    except BaseException as exc:
        # No metadata row: the stored bytes must go too, whatever stopped us (a racing upload, the database).
        await _discard(store, place, written.disk_name)
        if isinstance(exc, BlobNameTaken):
            raise _name_taken() from None
        raise


@endpoint(
    "POST", BASE + "/upload-to-blob", tag="storage", params=RECORDING_PARAMS, audit="blob.upload",
    summary="Upload a recording's file (multipart/form-data, streamed) into the user's storage",
    responses={200: "Stored", 400: "No file, empty file or malformed body", 401: "Not signed in",
               403: "Another user's storage", 404: "No such recording of this user and room",
               409: "The recording has a file of this name", 413: "File too large",
               415: "Not multipart/form-data", 502: "Azure Blob Storage failed or refused (nothing kept)",
               504: "Azure Blob Storage did not answer in time (nothing kept)",
               507: "Over the user's storage limit (nothing kept)"},
)  # fmt: skip
async def upload_to_blob(call: Call) -> Reply:
    user_id, _, _ = await _recording(call)
    boundary = boundary_of(request.headers.get("content-type"))
    s = call.services
    async with user_lock(user_id):
        usage, _ = await s.store.blobs.usage(user_id)
        remaining = await _limit(s, user_id) - usage
        declared = request.content_length
        if remaining <= 0 or (declared is not None and declared - FRAMING_SLACK > remaining):
            raise InsufficientStorage("the file does not fit in your storage limit; nothing was kept")
        # Streamed by BodyLimit in front of the app; Quart's own body reader only when run without it (tests).
        upload = MultipartUpload(request.scope.get(BODY_STREAM) or aiter(request.body), boundary)
        await upload.open_file()
        file_name = sanitise(upload.filename)
        # Before any byte is stored: refusing a taken name afterwards would upload gigabytes for nothing.
        if await s.store.blobs.get(user_id, call.path["roomId"], call.path["recordingId"], file_name) is not None:
            raise _name_taken()
        doc = await _store_upload(call, upload, file_name, remaining)
    call.target["file"] = doc["fileName"]
    data = {"blobUrl": blob_url(doc), "fileName": doc["fileName"], "fileSize": doc["fileSize"],
            "storage": await storage_summary(s, user_id)}  # fmt: skip
    return Reply(200, {"success": True, "data": data, "msg": "Recording uploaded successfully."})


@endpoint(
    "GET", "/recordings/user/{userId}/storage-info", tag="storage", params=(USER_ID,), audit="blob.storage_info",
    summary="A user's storage usage, limit, warnings (75%, 90%, exceeded) and stored recording files",
    responses={200: "Storage info", 401: "Not signed in", 403: "Another user's storage"},
)  # fmt: skip
async def storage_info(call: Call) -> Reply:
    user_id = call.path["userId"]
    call.target = {"type": "storage", "userId": user_id}
    call.require_self_or_admin(user_id, "storage")
    summary = await storage_summary(call.services, user_id)
    recordings = [_listed(doc) for doc in await call.services.store.blobs.list_for(user_id)]
    warnings = summary.pop("warnings")
    return Reply(200, {"success": True, "data": {**summary, "recordings": recordings, "warnings": warnings}})


@endpoint(
    "PUT", "/recordings/user/{userId}/storage-limit", tag="storage", auth=ADMIN, params=(USER_ID,),
    body=STORAGE_LIMIT, audit="blob.storage_limit",
    summary="Set a user's storage limit in bytes (admin)",
    responses={200: "Updated", 400: "Missing or invalid storageLimit", 401: "Not signed in",
               403: "Not an administrator", 404: "No such user"},
)  # fmt: skip
async def set_storage_limit(call: Call) -> Reply:
    user_id, limit = call.path["userId"], call.body["storageLimit"]
    call.target = {"type": "storage", "userId": user_id, "storageLimit": limit}
    if await call.services.store.users.by_id(user_id) is None:
        raise NotFound("user not found")
    await call.services.store.storage_limits.set(user_id, limit)
    data = {"userId": user_id, "storageLimit": limit, "storageLimitGB": _gb(limit)}
    return Reply(200, {"success": True, "data": data})


@endpoint(
    "GET", "/recordings/admin/exceeded-storage-users", tag="storage", auth=ADMIN, audit="blob.exceeded_users",
    summary="Users whose stored recordings exceed their storage limit (admin)",
    responses={200: "The users", 401: "Not signed in", 403: "Not an administrator"},
)  # fmt: skip
async def exceeded_users(call: Call) -> Reply:
    call.target = {"type": "storage"}
    s = call.services
    usage, limits = await s.store.blobs.usage_by_user(), await s.store.storage_limits.all()
    default = s.config.storage_quota.default_limit_bytes
    rows = []
    for user_id, (total, count) in sorted(usage.items()):
        limit = limits.get(user_id, default)
        if total > limit:
            rows.append({"userId": user_id, "totalUsage": total, "storageLimit": limit,
                         "exceedAmount": total - limit, "recordingsCount": count})  # fmt: skip
    return Reply(200, {"success": True, "data": rows})


@endpoint(
    "DELETE", BASE + "/{fileName}", tag="storage", params=FILE_PARAMS, audit="blob.delete",
    summary="Delete a recording's file from the user's storage",
    responses={200: "Deleted", 401: "Not signed in", 403: "Another user's storage",
               404: "No such recording or file", 502: "Azure Blob Storage failed (the file is kept)",
               503: "The file's back end is not configured", 504: "Azure Blob Storage did not answer in time"},
)  # fmt: skip
async def delete_blob(call: Call) -> Reply:
    doc = await _blob(call)
    s = call.services
    # The bytes first: if that fails the row stays, the file is still listed and counted, and a retry can
    # finish the job; the other order would leave bytes nobody can see (and, on Azure, pays for them).
    await _stores(s).holding(doc).remove(BlobPlace.of(doc), doc["diskName"])
    await s.store.blobs.delete(doc["_id"])
    summary = await storage_summary(s, doc["userId"])
    data = {k: summary[k] for k in ("totalUsage", "availableStorage", "recordingsCount")}
    return Reply(200, {"success": True, "msg": "Recording deleted successfully.", "data": data})


async def _attachment(s: Services, doc: dict[str, Any]) -> Reply:
    """The file's bytes from its back end; 404 when they are gone (checked before the answer starts)."""
    try:
        stream = await _stores(s).holding(doc).open(BlobPlace.of(doc), doc["diskName"])
    except BlobMissing:
        raise NotFound("file not found") from None
    return attachment(doc["fileName"], doc["fileSize"], doc["sha256"], stream)


_DOWNLOAD_FAILURES = {502: "Azure Blob Storage failed", 503: "The file's back end is not configured",
                      504: "Azure Blob Storage did not answer in time"}  # fmt: skip


@endpoint(
    "GET", BASE + "/file/{fileName}", tag="storage", params=FILE_PARAMS, audit="blob.download",
    summary="A recording file's bytes (the blobUrl; always an attachment)",
    responses={200: "The bytes", 401: "Not signed in", 403: "Another user's storage",
               404: "No such recording or file", **_DOWNLOAD_FAILURES},
)  # fmt: skip
async def download_blob(call: Call) -> Reply:
    return await _attachment(call.services, await _blob(call))


def _signer(s: Services) -> UrlSigner:
    assert s.signer is not None, "set by the Server"
    return s.signer


@endpoint(
    "GET", BASE + "/file/{fileName}/sas-url", tag="storage", params=FILE_PARAMS, audit="blob.sas_generate",
    summary="A signed, expiring, read-only download URL for a recording file (no login needed to use it): "
            "an Azure service SAS URL when the file is in Azure Blob Storage, else a /blob/{token} link",
    responses={200: "The URL and its expiry", 401: "Not signed in", 403: "Another user's storage",
               404: "No such recording or file", 503: "The file's back end is not configured"},
)  # fmt: skip
async def sas_url(call: Call) -> Reply:
    doc = await _blob(call)
    now = int(time.time())
    expires = now + call.services.config.storage_quota.sas_ttl_s
    store = _stores(call.services).holding(doc)
    url = store.signed_read_url(BlobPlace.of(doc), doc["diskName"], file_name=doc["fileName"], expires=expires, now=now)
    call.target.update({"expires": expires, "backend": store.name})
    data = {"sasUrl": url, "expiresAt": dt.datetime.fromtimestamp(expires, dt.UTC)}
    return Reply(200, {"success": True, "data": data})


@endpoint(
    "GET", "/blob/{token}", tag="storage", auth=PUBLIC, audit="blob.download_signed",
    params=(Field("token", "string", max_length=2048, description="The signed token of a sas-url"),),
    summary="Download a recording file through a signed URL (always an attachment)",
    responses={200: "The bytes", 403: "Bad, forged or expired signature", 404: "The file is gone",
               **_DOWNLOAD_FAILURES},
)  # fmt: skip
async def signed_download(call: Call) -> Reply:
    call.target = {"type": "blob"}
    try:
        grant = _signer(call.services).verify(call.path["token"])
    except BadSignature as exc:
        call.target["reason"] = str(exc)
        raise Forbidden("the link is invalid or has expired") from None
    parts = [unquote(p) for p in grant.path.split("/")]
    if len(parts) != 4:
        raise Forbidden("the link is invalid or has expired")
    user_id, room_id, rec_id, name = parts
    call.actor = f"sas:{user_id}"
    call.target.update({"userId": user_id, "roomId": room_id, "id": rec_id, "file": name})
    doc = await call.services.store.blobs.get(user_id, room_id, rec_id, name)
    if doc is None:
        raise NotFound("file not found")
    return await _attachment(call.services, doc)


ROUTES = (upload_to_blob, storage_info, set_storage_limit, exceeded_users, delete_blob, download_blob, sas_url,
          signed_download)  # fmt: skip
