"""GraphService RPCs: proto in, domain call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from photoshare.graph.v1 import graph_internal_service_pb2 as ipb
from photoshare.graph.v1 import graph_internal_service_pb2_grpc as ipb_grpc
from photoshare.graph.v1 import graph_service_pb2 as pb
from photoshare.graph.v1 import graph_service_pb2_grpc as pb_grpc
from photoshare.graph.v1.user_summary_pb2 import UserSummary

from common.metadata import caller_id, caller_session_id
from graph_svc.erasure import Erasures
from graph_svc.graph import PROFILE_LIMITS, Graph
from graph_svc.models import Caller, Erasure, Session, User
from graph_svc.sessions import Sessions

Context = grpc.aio.ServicerContext[Any, Any]


def user_to_proto(user: User) -> pb.User:
    message = pb.User(
        id=user.id,
        username=user.username,
        follower_count=user.follower_count,
        following_count=user.following_count,
        post_count=user.post_count,
        display_name=user.display_name,
        bio=user.bio,
        avatar=user.avatar,
        avatar_failure_reason=user.avatar_failure_reason,
    )
    message.created_at.FromMilliseconds(user.created_at_ms)
    return message


def user_summary_to_proto(user: User) -> UserSummary:
    return UserSummary(
        id=user.id, username=user.username, display_name=user.display_name, avatar=user.avatar
    )


def session_to_proto(session: Session, current_id: int) -> pb.Session:
    message = pb.Session(id=session.id, label=session.label, current=session.id == current_id)
    message.create_time.FromMilliseconds(session.created_at_ms)
    if session.last_used_at_ms:
        message.last_use_time.FromMilliseconds(session.last_used_at_ms)
    return message


def erasure_to_proto(erasure: Erasure) -> pb.Erasure:
    message = pb.Erasure(user_id=erasure.user_id, step=erasure.step)
    message.request_time.FromMilliseconds(erasure.requested_at_ms)
    message.release_time.FromMilliseconds(erasure.release_at_ms)
    return message


def caller(context: Context) -> Caller:
    return Caller(caller_id(context), caller_session_id(context))


class GraphServicer(pb_grpc.GraphServiceServicer, ipb_grpc.GraphInternalServiceServicer):
    def __init__(self, graph: Graph, sessions: Sessions, erasures: Erasures) -> None:
        self._graph = graph
        self._sessions = sessions
        self._erasures = erasures

    async def CreateUser(
        self, request: pb.CreateUserRequest, context: Context
    ) -> pb.CreateUserResponse:
        user, token = await self._graph.create_user(
            request.username,
            request.request_id,
            password=request.password,
            session_label=request.session_label,
        )
        return pb.CreateUserResponse(user=user_to_proto(user), token=token)

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: Context
    ) -> pb.CreateSessionResponse:
        session, token = await self._sessions.sign_in(
            request.username, request.password, request.label
        )
        return pb.CreateSessionResponse(session=session_to_proto(session, session.id), token=token)

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: Context
    ) -> pb.ListSessionsResponse:
        who = caller(context)
        sessions = await self._sessions.list(who)
        return pb.ListSessionsResponse(
            sessions=[session_to_proto(s, who.session_id) for s in sessions]
        )

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: Context
    ) -> pb.DeleteSessionResponse:
        await self._sessions.sign_out(caller(context), request.id)
        return pb.DeleteSessionResponse()

    async def EraseAccount(
        self, request: pb.EraseAccountRequest, context: Context
    ) -> pb.EraseAccountResponse:
        erasure = await self._erasures.request(caller_id(context))
        return pb.EraseAccountResponse(erasure=erasure_to_proto(erasure))

    async def SetPassword(
        self, request: pb.SetPasswordRequest, context: Context
    ) -> pb.SetPasswordResponse:
        await self._sessions.set_password(
            caller(context), request.current_password, request.new_password
        )
        return pb.SetPasswordResponse()

    async def GetUser(self, request: pb.GetUserRequest, context: Context) -> pb.GetUserResponse:
        return pb.GetUserResponse(user=user_to_proto(await self._graph.get_user(request.id)))

    async def LookupUser(
        self, request: pb.LookupUserRequest, context: Context
    ) -> pb.LookupUserResponse:
        user = await self._graph.lookup(request.username)
        return pb.LookupUserResponse(user=user_to_proto(user))

    async def UpdateProfile(
        self, request: pb.UpdateProfileRequest, context: Context
    ) -> pb.UpdateProfileResponse:
        # An empty mask means every field the request sets (AIP-134).
        paths = list(request.update_mask.paths) or [
            field.name for field, _ in request.user.ListFields() if field.name in PROFILE_LIMITS
        ]
        # A path that is no profile field keeps its name, so the domain can refuse it by name.
        changes = {p: getattr(request.user, p) if p in PROFILE_LIMITS else "" for p in paths}
        user = await self._graph.update_profile(caller_id(context), changes)
        return pb.UpdateProfileResponse(user=user_to_proto(user))

    async def CreateAvatarUpload(
        self, request: pb.CreateAvatarUploadRequest, context: Context
    ) -> pb.CreateAvatarUploadResponse:
        target = await self._graph.create_avatar_upload(
            caller_id(context), request.content_type, request.size_bytes
        )
        response = pb.CreateAvatarUploadResponse()
        response.upload.url = target.url
        response.upload.method = target.method
        response.upload.expires_at.FromMilliseconds(target.expires_at_ms)
        return response

    async def Follow(self, request: pb.FollowRequest, context: Context) -> pb.FollowResponse:
        await self._graph.follow(caller_id(context), request.followed_id, request.request_id)
        return pb.FollowResponse()

    async def Unfollow(self, request: pb.UnfollowRequest, context: Context) -> pb.UnfollowResponse:
        await self._graph.unfollow(caller_id(context), request.followed_id)
        return pb.UnfollowResponse()

    async def ListFollowers(
        self, request: pb.ListFollowersRequest, context: Context
    ) -> pb.ListFollowersResponse:
        page = await self._graph.followers_page(
            request.user_id, request.page_size, request.page_token
        )
        return pb.ListFollowersResponse(
            users=[user_to_proto(u) for u in page.users], next_page_token=page.next_page_token
        )

    async def ListFollowing(
        self, request: pb.ListFollowingRequest, context: Context
    ) -> pb.ListFollowingResponse:
        page = await self._graph.following_page(
            request.user_id, request.page_size, request.page_token
        )
        return pb.ListFollowingResponse(
            users=[user_to_proto(u) for u in page.users], next_page_token=page.next_page_token
        )

    async def Authenticate(
        self, request: ipb.AuthenticateRequest, context: Context
    ) -> ipb.AuthenticateResponse:
        resolved = await self._sessions.authenticate(request.token)
        return ipb.AuthenticateResponse(user_id=resolved.user_id, session_id=resolved.session_id)

    async def StreamFollowerIds(
        self, request: ipb.StreamFollowerIdsRequest, context: Context
    ) -> AsyncIterator[ipb.StreamFollowerIdsResponse]:
        async for chunk in self._graph.follower_id_chunks(request.user_id, request.chunk_size):
            yield ipb.StreamFollowerIdsResponse(follower_ids=chunk)

    async def StreamFollowing(
        self, request: ipb.StreamFollowingRequest, context: Context
    ) -> AsyncIterator[ipb.StreamFollowingResponse]:
        async for chunk in self._graph.followee_chunks(request.user_id, request.chunk_size):
            yield ipb.StreamFollowingResponse(
                followees=[
                    ipb.Followee(user_id=f.user_id, follower_count=f.follower_count) for f in chunk
                ]
            )

    async def FilterFollowed(
        self, request: ipb.FilterFollowedRequest, context: Context
    ) -> ipb.FilterFollowedResponse:
        followed = await self._graph.filter_followed(request.user_id, list(request.candidate_ids))
        response = ipb.FilterFollowedResponse(followed_ids=followed)
        if request.celebrity_min_follower_count > 0:
            response.celebrity_ids.extend(
                await self._graph.followed_celebrities(
                    request.user_id, request.celebrity_min_follower_count
                )
            )
        return response

    async def BatchGetUserSummaries(
        self, request: ipb.BatchGetUserSummariesRequest, context: Context
    ) -> ipb.BatchGetUserSummariesResponse:
        users = await self._graph.get_users(list(request.user_ids))
        return ipb.BatchGetUserSummariesResponse(users=[user_summary_to_proto(u) for u in users])
