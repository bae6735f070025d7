FROM later AS first
FROM busybox AS later
