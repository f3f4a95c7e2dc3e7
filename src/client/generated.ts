/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> =
  | T
  | { [P in keyof T]?: P extends " $fragmentName" | "__typename" ? T[P] : never };

import type { TypedDocumentNode as DocumentNode } from "@graphql-typed-document-node/core";
export type SetSessionMutationVariables = Exact<{
  key: string;
  value: unknown;
  expiresIn?: number | null | undefined;
  ifVersion?: number | null | undefined;
}>;

export type SetSessionMutation = {
  setSession: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export type SetSessionDefaultMutationVariables = Exact<{
  key: string;
  value: unknown;
  expiresIn?: number | null | undefined;
  ifVersion?: number | null | undefined;
}>;

export type SetSessionDefaultMutation = {
  setSessionDefault: {
    found: boolean;
    value: unknown;
    session: {
      id: string | null;
      data: Record<string, unknown>;
      keys: Array<string>;
      isEmpty: boolean;
      expiresAt: string | null;
      expiryAge: number;
      expireAtBrowserClose: boolean;
      version: number;
    };
  };
};

export type PopSessionMutationVariables = Exact<{
  key: string;
  default?: unknown;
  ifVersion?: number | null | undefined;
}>;

export type PopSessionMutation = {
  popSession: {
    found: boolean;
    value: unknown;
    session: {
      id: string | null;
      data: Record<string, unknown>;
      keys: Array<string>;
      isEmpty: boolean;
      expiresAt: string | null;
      expiryAge: number;
      expireAtBrowserClose: boolean;
      version: number;
    };
  };
};

export type ClearSessionMutationVariables = Exact<{
  ifVersion?: number | null | undefined;
}>;

export type ClearSessionMutation = {
  clearSession: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export type UpdateSessionMutationVariables = Exact<{
  values: Record<string, unknown>;
  ifVersion?: number | null | undefined;
}>;

export type UpdateSessionMutation = {
  updateSession: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export type FlushSessionMutationVariables = Exact<{
  ifVersion?: number | null | undefined;
}>;

export type FlushSessionMutation = {
  flushSession: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export type CycleSessionKeyMutationVariables = Exact<{
  ifVersion?: number | null | undefined;
}>;

export type CycleSessionKeyMutation = {
  cycleSessionKey: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export type SetSessionExpiryMutationVariables = Exact<{
  seconds?: number | null | undefined;
  at?: string | null | undefined;
  ifVersion?: number | null | undefined;
}>;

export type SetSessionExpiryMutation = {
  setSessionExpiry: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export type RevokeSessionMutationVariables = Exact<{
  id: string | number;
}>;

export type RevokeSessionMutation = { revokeSession: boolean };

export type RevokeOtherSessionsMutationVariables = Exact<{ [key: string]: never }>;

export type RevokeOtherSessionsMutation = { revokeOtherSessions: number };

export type GetSessionQueryVariables = Exact<{ [key: string]: never }>;

export type GetSessionQuery = {
  session: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export type GetSessionValueQueryVariables = Exact<{
  key: string;
  default?: unknown;
}>;

export type GetSessionValueQuery = { session: { has: boolean; value: unknown } };

export type MySessionsQueryVariables = Exact<{ [key: string]: never }>;

export type MySessionsQuery = {
  mySessions: Array<{
    id: string;
    current: boolean;
    createdAt: string;
    lastSeenAt: string;
    expiresAt: string | null;
    userAgent: string | null;
  }>;
};

export type SessionFragment = {
  id: string | null;
  data: Record<string, unknown>;
  keys: Array<string>;
  isEmpty: boolean;
  expiresAt: string | null;
  expiryAge: number;
  expireAtBrowserClose: boolean;
  version: number;
};

export type SessionChangedSubscriptionVariables = Exact<{
  sinceVersion?: number | null | undefined;
}>;

export type SessionChangedSubscription = {
  sessionChanged: {
    id: string | null;
    data: Record<string, unknown>;
    keys: Array<string>;
    isEmpty: boolean;
    expiresAt: string | null;
    expiryAge: number;
    expireAtBrowserClose: boolean;
    version: number;
  };
};

export const SessionFragmentDoc = {
  kind: "Document",
  definitions: [
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SessionFragment, unknown>;
export const SetSessionDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "SetSession" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "key" } },
          type: { kind: "NonNullType", type: { kind: "NamedType", name: { kind: "Name", value: "String" } } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "value" } },
          type: { kind: "NonNullType", type: { kind: "NamedType", name: { kind: "Name", value: "JSON" } } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "expiresIn" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "setSession" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "key" },
                value: { kind: "Variable", name: { kind: "Name", value: "key" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "value" },
                value: { kind: "Variable", name: { kind: "Name", value: "value" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "expiresIn" },
                value: { kind: "Variable", name: { kind: "Name", value: "expiresIn" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SetSessionMutation, SetSessionMutationVariables>;
export const SetSessionDefaultDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "SetSessionDefault" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "key" } },
          type: { kind: "NonNullType", type: { kind: "NamedType", name: { kind: "Name", value: "String" } } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "value" } },
          type: { kind: "NonNullType", type: { kind: "NamedType", name: { kind: "Name", value: "JSON" } } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "expiresIn" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "setSessionDefault" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "key" },
                value: { kind: "Variable", name: { kind: "Name", value: "key" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "value" },
                value: { kind: "Variable", name: { kind: "Name", value: "value" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "expiresIn" },
                value: { kind: "Variable", name: { kind: "Name", value: "expiresIn" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [
                { kind: "Field", name: { kind: "Name", value: "found" } },
                { kind: "Field", name: { kind: "Name", value: "value" } },
                {
                  kind: "Field",
                  name: { kind: "Name", value: "session" },
                  selectionSet: {
                    kind: "SelectionSet",
                    selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
                  },
                },
              ],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SetSessionDefaultMutation, SetSessionDefaultMutationVariables>;
export const PopSessionDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "PopSession" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "key" } },
          type: { kind: "NonNullType", type: { kind: "NamedType", name: { kind: "Name", value: "String" } } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "default" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "JSON" } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "popSession" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "key" },
                value: { kind: "Variable", name: { kind: "Name", value: "key" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "default" },
                value: { kind: "Variable", name: { kind: "Name", value: "default" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [
                { kind: "Field", name: { kind: "Name", value: "found" } },
                { kind: "Field", name: { kind: "Name", value: "value" } },
                {
                  kind: "Field",
                  name: { kind: "Name", value: "session" },
                  selectionSet: {
                    kind: "SelectionSet",
                    selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
                  },
                },
              ],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<PopSessionMutation, PopSessionMutationVariables>;
export const ClearSessionDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "ClearSession" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "clearSession" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<ClearSessionMutation, ClearSessionMutationVariables>;
export const UpdateSessionDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "UpdateSession" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "values" } },
          type: {
            kind: "NonNullType",
            type: { kind: "NamedType", name: { kind: "Name", value: "JSONObject" } },
          },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "updateSession" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "values" },
                value: { kind: "Variable", name: { kind: "Name", value: "values" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<UpdateSessionMutation, UpdateSessionMutationVariables>;
export const FlushSessionDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "FlushSession" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "flushSession" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<FlushSessionMutation, FlushSessionMutationVariables>;
export const CycleSessionKeyDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "CycleSessionKey" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "cycleSessionKey" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<CycleSessionKeyMutation, CycleSessionKeyMutationVariables>;
export const SetSessionExpiryDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "SetSessionExpiry" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "seconds" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "at" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "DateTimeISO" } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "setSessionExpiry" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "seconds" },
                value: { kind: "Variable", name: { kind: "Name", value: "seconds" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "at" },
                value: { kind: "Variable", name: { kind: "Name", value: "at" } },
              },
              {
                kind: "Argument",
                name: { kind: "Name", value: "ifVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "ifVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SetSessionExpiryMutation, SetSessionExpiryMutationVariables>;
export const RevokeSessionDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "RevokeSession" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "id" } },
          type: { kind: "NonNullType", type: { kind: "NamedType", name: { kind: "Name", value: "ID" } } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "revokeSession" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "id" },
                value: { kind: "Variable", name: { kind: "Name", value: "id" } },
              },
            ],
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<RevokeSessionMutation, RevokeSessionMutationVariables>;
export const RevokeOtherSessionsDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "mutation",
      name: { kind: "Name", value: "RevokeOtherSessions" },
      selectionSet: {
        kind: "SelectionSet",
        selections: [{ kind: "Field", name: { kind: "Name", value: "revokeOtherSessions" } }],
      },
    },
  ],
} as unknown as DocumentNode<RevokeOtherSessionsMutation, RevokeOtherSessionsMutationVariables>;
export const GetSessionDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "query",
      name: { kind: "Name", value: "GetSession" },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "session" },
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<GetSessionQuery, GetSessionQueryVariables>;
export const GetSessionValueDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "query",
      name: { kind: "Name", value: "GetSessionValue" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "key" } },
          type: { kind: "NonNullType", type: { kind: "NamedType", name: { kind: "Name", value: "String" } } },
        },
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "default" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "JSON" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "session" },
            selectionSet: {
              kind: "SelectionSet",
              selections: [
                {
                  kind: "Field",
                  alias: { kind: "Name", value: "value" },
                  name: { kind: "Name", value: "get" },
                  arguments: [
                    {
                      kind: "Argument",
                      name: { kind: "Name", value: "key" },
                      value: { kind: "Variable", name: { kind: "Name", value: "key" } },
                    },
                    {
                      kind: "Argument",
                      name: { kind: "Name", value: "default" },
                      value: { kind: "Variable", name: { kind: "Name", value: "default" } },
                    },
                  ],
                },
                {
                  kind: "Field",
                  name: { kind: "Name", value: "has" },
                  arguments: [
                    {
                      kind: "Argument",
                      name: { kind: "Name", value: "key" },
                      value: { kind: "Variable", name: { kind: "Name", value: "key" } },
                    },
                  ],
                },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<GetSessionValueQuery, GetSessionValueQueryVariables>;
export const MySessionsDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "query",
      name: { kind: "Name", value: "MySessions" },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "mySessions" },
            selectionSet: {
              kind: "SelectionSet",
              selections: [
                { kind: "Field", name: { kind: "Name", value: "id" } },
                { kind: "Field", name: { kind: "Name", value: "current" } },
                { kind: "Field", name: { kind: "Name", value: "createdAt" } },
                { kind: "Field", name: { kind: "Name", value: "lastSeenAt" } },
                { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
                { kind: "Field", name: { kind: "Name", value: "userAgent" } },
              ],
            },
          },
        ],
      },
    },
  ],
} as unknown as DocumentNode<MySessionsQuery, MySessionsQueryVariables>;
export const SessionChangedDocument = {
  kind: "Document",
  definitions: [
    {
      kind: "OperationDefinition",
      operation: "subscription",
      name: { kind: "Name", value: "SessionChanged" },
      variableDefinitions: [
        {
          kind: "VariableDefinition",
          variable: { kind: "Variable", name: { kind: "Name", value: "sinceVersion" } },
          type: { kind: "NamedType", name: { kind: "Name", value: "Int" } },
        },
      ],
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          {
            kind: "Field",
            name: { kind: "Name", value: "sessionChanged" },
            arguments: [
              {
                kind: "Argument",
                name: { kind: "Name", value: "sinceVersion" },
                value: { kind: "Variable", name: { kind: "Name", value: "sinceVersion" } },
              },
            ],
            selectionSet: {
              kind: "SelectionSet",
              selections: [{ kind: "FragmentSpread", name: { kind: "Name", value: "Session" } }],
            },
          },
        ],
      },
    },
    {
      kind: "FragmentDefinition",
      name: { kind: "Name", value: "Session" },
      typeCondition: { kind: "NamedType", name: { kind: "Name", value: "Session" } },
      selectionSet: {
        kind: "SelectionSet",
        selections: [
          { kind: "Field", name: { kind: "Name", value: "id" } },
          { kind: "Field", name: { kind: "Name", value: "data" } },
          { kind: "Field", name: { kind: "Name", value: "keys" } },
          { kind: "Field", name: { kind: "Name", value: "isEmpty" } },
          { kind: "Field", name: { kind: "Name", value: "expiresAt" } },
          { kind: "Field", name: { kind: "Name", value: "expiryAge" } },
          { kind: "Field", name: { kind: "Name", value: "expireAtBrowserClose" } },
          { kind: "Field", name: { kind: "Name", value: "version" } },
        ],
      },
    },
  ],
} as unknown as DocumentNode<SessionChangedSubscription, SessionChangedSubscriptionVariables>;
