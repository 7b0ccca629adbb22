"""The people's CLI: `pipegraph pipelines:promote` and friends, a GraphQL client of a pipegraph API.

It never touches the database: every command is one or more operations from `operations/*.graphql`, sent over HTTP
(queries, mutations) or graphql-transport-ws (subscriptions) to the API the user logged in to.
"""
