"""Room files (Meet document): upload, details, download, delete all. Bytes stream to and from disk.

The room's owner, its members (signed-in users who joined it through the realtime layer) and admins may
upload and read; only the owner and admins may delete. Downloads are always attachments of type
application/octet-stream, so an uploaded page can never run as part of this site.
"""

from __future__ import annotations

from typing import Any

from quart import request

from altegon_rt.api.body_limit import BODY_STREAM
from altegon_rt.api.downloads import attachment
from altegon_rt.api.multipart import MultipartUpload, boundary_of
from altegon_rt.api.routing import Call, Reply, endpoint
from altegon_rt.api.schema import Field
from altegon_rt.errors import BadRequest, NotFound, PayloadTooLarge
from altegon_rt.files.disk import TooLarge
from altegon_rt.files.names import sanitise, with_suffix
from altegon_rt.store.files import MAX_FILES, NameTaken
from altegon_rt.store.rooms import is_member

ROOM_ID = Field("roomId", "objectid", description="The room's id")
FILENAME = Field("filename", "string", max_length=300, description="The file's name as listed (roomId_name)")
UPLOAD_PATH = "/room/{roomId}/upload"


async def _room(call: Call, room_id: str, *, members: bool = True) -> dict[str, Any]:
    room = await call.services.store.rooms.get(room_id)
    if room is None:
        raise NotFound("room not found")
    if not (members and is_member(room, call.user.user_id)):
        call.require_self_or_admin(room["ownerId"], "rooms")
    return room


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    data = {k: doc[k] for k in ("filename", "originalName", "size", "roomId", "contentType", "uploadDate")}
    data["path"] = f"documents/{doc['roomId']}/{doc['filename']}"
    return data


async def _free_name(call: Call, room_id: str, original: str) -> str:
    wanted = f"{room_id}_{sanitise(original)}"
    taken = await call.services.store.files.names_like(room_id, wanted.rsplit(".", 1)[0])
    n = 1
    name = wanted
    while name in taken:
        n += 1
        name = with_suffix(wanted, n)
    return name


async def _save(call: Call, room_id: str, upload: MultipartUpload) -> dict[str, Any]:
    s = call.services
    limit = s.config.files.max_upload_bytes
    try:
        written = await s.files.write(room_id, upload.file_data(), limit)
    except TooLarge:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes") from None
    try:
        await upload.finish()
        if written.size == 0:
            raise BadRequest("the file is empty", code="empty_file")
        record = {
            "roomId": room_id, "ownerId": call.user.user_id, "originalName": sanitise(upload.filename),
            "contentType": upload.content_type, "size": written.size, "sha256": written.sha256,
            "diskName": written.disk_name,
        }  # fmt: skip
        for _ in range(5):  # a racing upload may take the same free name
            record["filename"] = await _free_name(call, room_id, upload.filename)
            try:
                return await s.store.files.add(record)
            except NameTaken:
                continue
        raise BadRequest("could not find a free name for the file; rename it", code="name_taken")
    except BaseException:
        await s.files.remove(room_id, written.disk_name)
        raise


@endpoint(
    "POST", UPLOAD_PATH, tag="files", params=(ROOM_ID,), audit="file.upload",
    summary="Upload one file to a room (multipart/form-data, streamed to disk)",
    responses={200: "Uploaded", 400: "No file, empty file or malformed body", 401: "Not signed in",
               403: "Not the room's owner or a member", 404: "No such room", 413: "File too large",
               415: "Not multipart/form-data"},
    example={"success": True, "data": {"originalName": "Document.docx",
             "filename": "68b01f530d7bbb02c917906f_Document.docx", "size": 27685, "roomId": "68b01f530d7bbb02c917906f",
             "path": "documents/68b01f530d7bbb02c917906f/68b01f530d7bbb02c917906f_Document.docx"},
             "msg": "File uploaded successfully!"},
)  # fmt: skip
async def upload_file(call: Call) -> Reply:
    room_id = call.path["roomId"]
    call.target = {"type": "room", "id": room_id}
    boundary = boundary_of(request.headers.get("content-type"))
    await _room(call, room_id)
    if await call.services.store.files.count(room_id) >= MAX_FILES:
        raise BadRequest(f"a room holds at most {MAX_FILES} files", code="too_many_files")
    # Streamed by BodyLimit in front of the app; Quart's own body reader only when run without it (tests).
    upload = MultipartUpload(request.scope.get(BODY_STREAM) or aiter(request.body), boundary)
    await upload.open_file()
    doc = await _save(call, room_id, upload)
    call.target["file"] = doc["filename"]
    data = {k: v for k, v in _public(doc).items() if k != "uploadDate"}
    return Reply(200, {"success": True, "data": data, "msg": "File uploaded successfully!"})


async def _file(call: Call) -> dict[str, Any]:
    room_id, filename = call.path["roomId"], call.path["filename"]
    call.target = {"type": "file", "roomId": room_id, "file": filename}
    await _room(call, room_id)
    doc = await call.services.store.files.get(room_id, filename)
    if doc is None or not await call.services.files.exists(room_id, doc["diskName"]):
        raise NotFound("file not found")
    return doc


@endpoint(
    "GET", "/room/{roomId}/files/{filename}", tag="files", params=(ROOM_ID, FILENAME),
    summary="Details of a room's file",
    responses={200: "The file's details", 401: "Not signed in", 403: "Not the room's owner or a member",
               404: "No such room or file"},
)  # fmt: skip
async def file_details(call: Call) -> Reply:
    doc = await _file(call)
    return Reply(200, {"success": True, "data": _public(doc), "msg": "File retrieved successfully!"})


@endpoint(
    "GET", "/room/{roomId}/files/{filename}/download", tag="files", params=(ROOM_ID, FILENAME),
    audit="file.download", summary="The file's bytes (always an attachment)",
    responses={200: "The bytes", 401: "Not signed in", 403: "Not the room's owner or a member",
               404: "No such room or file"},
)  # fmt: skip
async def download_file(call: Call) -> Reply:
    doc = await _file(call)
    stream = call.services.files.read(doc["roomId"], doc["diskName"])
    return attachment(doc["originalName"], doc["size"], doc["sha256"], stream)


@endpoint(
    "DELETE", "/room/{roomId}/files", tag="files", params=(ROOM_ID,), audit="file.delete_all",
    summary="Delete every file of a room (owner or admin)",
    responses={200: "Deleted", 401: "Not signed in", 403: "Not the room's owner", 404: "No such room"},
    example={"success": True, "msg": "All files for room 68b01f530d7bbb02c917906f deleted successfully"},
)  # fmt: skip
async def delete_files(call: Call) -> Reply:
    room_id = call.path["roomId"]
    call.target = {"type": "room", "id": room_id}
    await _room(call, room_id, members=False)
    deleted = await call.services.store.files.delete_room(room_id)
    await call.services.files.remove_room(room_id)
    call.target["deleted"] = deleted
    return Reply(200, {"success": True, "msg": f"All files for room {room_id} deleted successfully"})


ROUTES = (upload_file, file_details, download_file, delete_files)
