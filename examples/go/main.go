// A Go client of the Photoshare mesh, built from the code `buf generate` makes: it reads a
// user's profile and home feed over gRPC, as a service written in Go beside the mesh would.
//
// Calls between the mesh's processes carry the mesh's credential (docs/adr/0004): this
// example is given one, with the user it is for, in its environment.
//
//	PHOTOSHARE_GRAPH_ADDR=127.0.0.1:50051 PHOTOSHARE_FEED_ADDR=127.0.0.1:50054 \
//	PHOTOSHARE_USER_ID=... PHOTOSHARE_CREDENTIAL=... go run .
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	feedv1 "github.com/photoshare/photoshare/gen/go/photoshare/feed/v1"
	graphv1 "github.com/photoshare/photoshare/gen/go/photoshare/graph/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	userID, err := strconv.ParseInt(os.Getenv("PHOTOSHARE_USER_ID"), 10, 64)
	if err != nil {
		return fmt.Errorf("PHOTOSHARE_USER_ID: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx,
		"x-photoshare-user-id", strconv.FormatInt(userID, 10),
		"x-photoshare-credential", os.Getenv("PHOTOSHARE_CREDENTIAL"))

	graphConn, err := grpc.NewClient(os.Getenv("PHOTOSHARE_GRAPH_ADDR"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer graphConn.Close()
	user, err := graphv1.NewGraphServiceClient(graphConn).GetUser(ctx, &graphv1.GetUserRequest{Id: userID})
	if err != nil {
		return fmt.Errorf("GetUser: %w", err)
	}

	feedConn, err := grpc.NewClient(os.Getenv("PHOTOSHARE_FEED_ADDR"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer feedConn.Close()
	feed, err := feedv1.NewFeedServiceClient(feedConn).GetHomeFeed(ctx, &feedv1.GetHomeFeedRequest{Limit: 10})
	if err != nil {
		return fmt.Errorf("GetHomeFeed: %w", err)
	}

	postIDs := []string{}
	for _, post := range feed.GetPosts() {
		postIDs = append(postIDs, strconv.FormatInt(post.GetId(), 10))
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"username": user.GetUser().GetUsername(),
		"postIds":  postIDs,
	})
}
