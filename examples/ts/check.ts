// A TypeScript client's view of the API, from the code `buf generate` makes in gen/ts: builds
// a request, encodes it as the gateway's JSON and in binary, and reads a response back.
import { create, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import {
  FeedService,
  GetHomeFeedRequestSchema,
  GetHomeFeedResponseSchema,
} from "../../gen/ts/photoshare/feed/v1/feed_service_pb";
import { PostState } from "../../gen/ts/photoshare/post/v1/post_service_pb";

declare const process: { argv: string[] }; // Node's, without its type package

const request = create(GetHomeFeedRequestSchema, { limit: 10 });
const response = fromJson(GetHomeFeedResponseSchema, JSON.parse(process.argv[2] ?? "{}"));
console.log(
  JSON.stringify({
    method: FeedService.method.getHomeFeed.name,
    request: toJson(GetHomeFeedRequestSchema, request),
    requestBytes: toBinary(GetHomeFeedRequestSchema, request).length,
    published: response.posts.filter((p) => p.state === PostState.PUBLISHED).map((p) => String(p.id)),
  }),
);
