FROM busybox:latest AS 1st
