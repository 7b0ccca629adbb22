"""Redis Streams for live progress: the database holds the truth, a stream only carries news of it.

`publish` writes an event, `hub` shares one reader per stream among an API process's subscribers, and each stream
family (a `Topic`) carries one event shape, built and parsed in one place: `promotion` for a promotion's targets,
`logs` for a release phase's output (a build log is another `Topic` of the same `LogEvent`).
"""
