// Every operation the dashboard runs, typed by GraphQL Code Generator from ../schema.graphql (src/gql/ is generated).
// They are the same public API any client uses: nothing here is private to the dashboard.
import { graphql } from "../gql";

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      email
      name
      teams {
        id
        name
      }
    }
  }
`);

export const OwnerFields = graphql(`
  fragment OwnerFields on Owner {
    __typename
    ... on User {
      id
      email
    }
    ... on Team {
      id
      name
    }
  }
`);

export const ReleaseSummary = graphql(`
  fragment ReleaseSummary on Release {
    id
    version
    status
    current
    description
    errorMessage
    createdAt
    createdBy {
      id
      email
    }
    slug {
      id
      commit
      commitDescription
    }
  }
`);

export const PipelinesQuery = graphql(`
  query Pipelines {
    pipelines(first: 100) {
      edges {
        node {
          id
          name
          owner {
            ...OwnerFields
          }
          stages {
            name
            apps {
              id
              name
            }
          }
        }
      }
    }
    looseApps: apps(first: 100, inPipeline: false) {
      edges {
        node {
          id
          name
          viewerPermissions
        }
      }
    }
  }
`);

export const PipelineOverviewQuery = graphql(`
  query PipelineOverview($name: String!) {
    pipeline(name: $name) {
      id
      name
      viewerRights
      owner {
        ...OwnerFields
      }
      foreignApps {
        id
      }
      reviewApps {
        id
        prNumber
        branch
        appName
        status
        message
        app {
          id
          name
        }
      }
      stages {
        name
        apps {
          id
          name
          viewerPermissions
          owner {
            ...OwnerFields
          }
          currentRelease {
            ...ReleaseSummary
          }
        }
      }
    }
    looseApps: apps(first: 100, inPipeline: false) {
      edges {
        node {
          id
          name
          viewerPermissions
        }
      }
    }
  }
`);

// What differs between two apps' deployed code, from their git history, or why git cannot tell (NotComparable: an app
// never built from git): the overview asks it per card, and then the badge stays without its commit count.
export const AppCompareQuery = graphql(`
  query AppCompare($app: String!, $with: String!) {
    app(name: $app) {
      id
      comparison(with: $with) {
        __typename
        ... on AppComparison {
          ahead
          behind
          commits(first: 5) {
            sha
            message
          }
        }
        ... on NotComparable {
          reason
        }
      }
    }
  }
`);

export const PipelinePromotionsQuery = graphql(`
  query PipelinePromotions($name: String!) {
    pipeline(name: $name) {
      id
      promotions(first: 20) {
        edges {
          node {
            id
            status
            createdAt
            completedAt
            createdBy {
              id
              email
            }
            source {
              id
              name
            }
            sourceRelease {
              id
              version
              slug {
                id
                commit
              }
            }
            targets {
              id
              status
              step
              errorMessage
              app {
                id
                name
              }
              release {
                id
                version
              }
            }
          }
        }
      }
    }
  }
`);

export const PromotionProgressSubscription = graphql(`
  subscription PromotionProgress($id: ID!) {
    promotionProgress(id: $id) {
      sequence
      status
      step
      errorMessage
      target {
        id
        app {
          id
          name
        }
      }
      release {
        id
        version
      }
    }
  }
`);

export const PipelineEventsSubscription = graphql(`
  subscription PipelineEvents($pipeline: String!) {
    pipelineEvents(pipeline: $pipeline) {
      promotion {
        id
        status
      }
    }
  }
`);

export const ReleaseLogSubscription = graphql(`
  subscription ReleaseLog($id: ID!) {
    releaseLog(releaseId: $id) {
      number
      text
    }
  }
`);

export const AppReleasesQuery = graphql(`
  query AppReleases($name: String!) {
    app(name: $name) {
      id
      name
      stage
      viewerPermissions
      owner {
        ...OwnerFields
      }
      pipeline {
        id
        name
      }
      releases(first: 50) {
        edges {
          node {
            ...ReleaseSummary
            log
            sourceRelease {
              id
              version
              app {
                id
                name
              }
            }
          }
        }
      }
    }
  }
`);

export const PipelineAdminQuery = graphql(`
  query PipelineAdmin($name: String!) {
    pipeline(name: $name) {
      id
      name
      viewerRights
      viewerPermissions
      owner {
        ...OwnerFields
      }
      foreignApps {
        id
        name
        owner {
          ...OwnerFields
        }
      }
      transfers {
        createdAt
        previousOwner {
          ...OwnerFields
        }
        newOwner {
          ...OwnerFields
        }
        transferredBy {
          id
          email
        }
      }
      access {
        autoJoin
        autoJoinPermissions
        grants {
          permissions
          user {
            id
            email
          }
        }
      }
    }
  }
`);

export const TestRunFields = graphql(`
  fragment TestRunFields on TestRun {
    id
    number
    status
    commitBranch
    commitSha
    commitMessage
    message
    createdAt
    startedAt
    finishedAt
    actor {
      id
      email
    }
  }
`);

export const PipelineTestRunsQuery = graphql(`
  query PipelineTestRuns($name: String!) {
    pipeline(name: $name) {
      id
      name
      viewerRights
      viewerPermissions
      ci {
        enabled
      }
      testRuns(first: 50) {
        edges {
          node {
            ...TestRunFields
          }
        }
      }
    }
  }
`);

export const PipelineTestRunQuery = graphql(`
  query PipelineTestRun($name: String!, $number: Int!) {
    pipeline(name: $name) {
      id
      name
      viewerRights
      viewerPermissions
      testRun(number: $number) {
        ...TestRunFields
        appName
        nodes {
          index
          status
          exitCode
          message
        }
      }
    }
  }
`);

export const TestRunLogSubscription = graphql(`
  subscription TestRunLog($id: ID!) {
    testRunLog(id: $id) {
      number
      text
    }
  }
`);

export const TestRunEventsSubscription = graphql(`
  subscription TestRunEvents($pipeline: String!) {
    pipelineEvents(pipeline: $pipeline, kinds: [TEST_RUN]) {
      kind
      testRun {
        id
        number
        status
      }
    }
  }
`);

export const ReviewAppEventsSubscription = graphql(`
  subscription ReviewAppEvents($pipeline: String!) {
    pipelineEvents(pipeline: $pipeline, kinds: [REVIEW_APP]) {
      kind
      reviewApp {
        id
        status
      }
    }
  }
`);
