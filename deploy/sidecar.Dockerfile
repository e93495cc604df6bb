# An app image with sluice as its entrypoint (deploy/kubernetes/sidecar.yaml): sluice starts the
# app, passes its output through, ships the parsed events to $SLUICE_SINKS, forwards signals and
# exits with the app's exit code.
#
#   docker build -f deploy/sidecar.Dockerfile --build-arg SLUICE_IMAGE=sluice:0.1.0 -t orders .
#
# The binary comes from the sluice image (deploy/Dockerfile). It is dynamically linked against
# Debian 12 libraries, so the app's image must be Debian 12 based (or provide the same sonames);
# the sluice image lists the packages it needs, installed here.
ARG SLUICE_IMAGE=registry.example.com/sluice:0.1.0
FROM ${SLUICE_IMAGE} AS sluice

FROM debian:12-slim
COPY --from=sluice /usr/local/share/sluice/runtime-packages.txt /tmp/sluice-packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(cat /tmp/sluice-packages.txt) tzdata \
 && rm -rf /var/lib/apt/lists/* /tmp/sluice-packages.txt
COPY --from=sluice /usr/local/bin/sluice /usr/local/bin/sluice
# The app itself (here a prebuilt binary in the build context).
COPY server /app/server
USER 10001:10001
# Everything after `--` is the app's command line; `docker run orders --port=9090` replaces CMD.
ENTRYPOINT ["/usr/local/bin/sluice", "run", "--"]
CMD ["/app/server", "--port=8080"]
