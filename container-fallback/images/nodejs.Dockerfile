# shoal's Node.js runtime image for the test suite: Debian's nodejs (18 on bookworm) run by
# shoal's action proxy in its `nodejs` mode. It stands in for OpenWhisk's action-nodejs images,
# which speak the same protocol but cannot be pulled here.
FROM shoal/base:bookworm
ENV SHOAL_PROXY_MODE=nodejs PYTHONUNBUFFERED=1
COPY proxy/shoal_proxy.py proxy/node_runner.js /proxy/
EXPOSE 8080
# shoal waits for the log sentinels its proxy prints after each activation.
LABEL shoal.log-sentinels=true
CMD ["python3", "/proxy/shoal_proxy.py"]
