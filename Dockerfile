FROM python:3.11-slim
WORKDIR /srv/pipegraph
COPY pyproject.toml README.md ./
COPY src ./src
COPY workers ./workers
RUN pip install --no-cache-dir .
ENV PIPEGRAPH_DATA_DIR=/var/lib/pipegraph
EXPOSE 8000
ENTRYPOINT ["pipegraph"]
CMD ["serve", "--host", "0.0.0.0"]
