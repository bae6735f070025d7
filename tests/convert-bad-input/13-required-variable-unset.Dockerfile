FROM scratch
ENV TARGET=${DEST:?}
