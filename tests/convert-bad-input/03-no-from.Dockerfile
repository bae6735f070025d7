# only an arg
ARG VERSION=1
