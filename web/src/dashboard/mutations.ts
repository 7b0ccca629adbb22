// The dashboard's mutations; each asks for `userErrors`, whose message is shown as the API wrote it.
import { graphql } from "../gql";

export const UserErrorFields = graphql(`
  fragment UserErrorFields on UserError {
    field
    message
    code
  }
`);

export const PromoteMutation = graphql(`
  mutation Promote($input: PromoteInput!) {
    promote(input: $input) {
      promotion {
        id
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RollbackMutation = graphql(`
  mutation Rollback($input: RollbackInput!) {
    rollback(input: $input) {
      release {
        id
        version
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const CreatePipelineMutation = graphql(`
  mutation CreatePipeline($input: CreatePipelineInput!) {
    createPipeline(input: $input) {
      pipeline {
        id
        name
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const AddAppToPipelineMutation = graphql(`
  mutation AddAppToPipeline($input: AddAppToPipelineInput!) {
    addAppToPipeline(input: $input) {
      app {
        id
        stage
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const MoveAppToStageMutation = graphql(`
  mutation MoveAppToStage($input: MoveAppToStageInput!) {
    moveAppToStage(input: $input) {
      app {
        id
        stage
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RemoveAppFromPipelineMutation = graphql(`
  mutation RemoveAppFromPipeline($input: RemoveAppFromPipelineInput!) {
    removeAppFromPipeline(input: $input) {
      app {
        id
        stage
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RenamePipelineMutation = graphql(`
  mutation RenamePipeline($input: RenamePipelineInput!) {
    renamePipeline(input: $input) {
      pipeline {
        id
        name
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const DestroyPipelineMutation = graphql(`
  mutation DestroyPipeline($input: DestroyPipelineInput!) {
    destroyPipeline(input: $input) {
      destroyedPipelineId
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const TransferPipelineMutation = graphql(`
  mutation TransferPipeline($input: TransferPipelineInput!) {
    transferPipeline(input: $input) {
      pipeline {
        id
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const TransferAppsMutation = graphql(`
  mutation TransferAppsToPipelineOwner($input: TransferAppsToPipelineOwnerInput!) {
    transferAppsToPipelineOwner(input: $input) {
      transferredApps {
        id
        name
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const GrantAccessMutation = graphql(`
  mutation GrantPipelineAccess($input: GrantPipelineAccessInput!) {
    grantPipelineAccess(input: $input) {
      pipeline {
        id
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RevokeAccessMutation = graphql(`
  mutation RevokePipelineAccess($input: RevokePipelineAccessInput!) {
    revokePipelineAccess(input: $input) {
      pipeline {
        id
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const AutoJoinMutation = graphql(`
  mutation UpdatePipelineAutoJoin($input: UpdatePipelineAutoJoinInput!) {
    updatePipelineAutoJoin(input: $input) {
      pipeline {
        id
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const CreateTestRunMutation = graphql(`
  mutation CreateTestRun($input: CreateTestRunInput!) {
    createTestRun(input: $input) {
      testRun {
        id
        number
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const CancelTestRunMutation = graphql(`
  mutation CancelTestRun($input: CancelTestRunInput!) {
    cancelTestRun(input: $input) {
      testRun {
        id
        status
        message
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const EnableCiMutation = graphql(`
  mutation EnableCi($input: EnableCiInput!) {
    enableCi(input: $input) {
      ci {
        enabled
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);
