import { TfaError } from '../errors.js';
import type { CodeProviderSpec } from '../manifest/types.js';
import { CommandCodeProvider } from './command-provider.js';

/** A request for a code that the service sent by email or SMS. */
export interface CodeRequest {
  account: string;
  channel: 'email' | 'sms';
  /** Masked destination, e.g. "******1234". */
  destination?: string;
  /** Epoch seconds when the code was requested, so that a provider can skip older messages. */
  sentAfter: number;
}

/** A source of emailed or SMS codes: the terminal, an environment variable or a command. */
export interface CodeProvider {
  /** The provider in messages, e.g. 'command "./read-mail.sh"'. */
  readonly description: string;
  /** Resolves with a 6-digit code, or rejects with CodeProviderError (with `signal.reason` on abort). */
  getCode(request: CodeRequest, signal?: AbortSignal): Promise<string>;
}

export interface ProviderContext {
  /** Folder that provider commands run in: the folder of the manifest that names them. */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  /** Prompt that reads the user's input on a terminal without echoing it. Absent when there is no terminal. */
  prompt?: (question: string, signal?: AbortSignal) => Promise<string>;
  /** Variables added to a command's environment on top of `env`. */
  extraEnv?: Record<string, string>;
}

/** A code provider that failed or returned something other than a code. Messages never contain a code. */
export class CodeProviderError extends TfaError {}

/** Codes of Vast.ai's email and SMS messages are 6 digits. */
export const CODE_PATTERN = /^\d{6}$/;

/** Prompt attempts before a prompt provider gives up on input that is not a 6-digit code. */
const PROMPT_ATTEMPTS = 3;

/** Creates the provider a manifest's `codes` or `emailCodes` entry describes. */
export function createCodeProvider(spec: CodeProviderSpec, context: ProviderContext): CodeProvider {
  switch (spec.kind) {
    case 'prompt':
      return new PromptCodeProvider(context.prompt);
    case 'env':
      return new EnvCodeProvider(spec.name, context.env);
    case 'command':
      return new CommandCodeProvider(spec.command, spec.timeoutSeconds, context);
  }
}

/** Asks the user for each code on the terminal. */
class PromptCodeProvider implements CodeProvider {
  readonly description = 'prompt';
  readonly #prompt: ProviderContext['prompt'];

  constructor(prompt: ProviderContext['prompt']) {
    this.#prompt = prompt;
  }

  async getCode(request: CodeRequest, signal?: AbortSignal): Promise<string> {
    if (this.#prompt === undefined) {
      throw new CodeProviderError(
        'code_provider_no_terminal',
        `Cannot ask for the ${request.channel} code of account "${request.account}": there is no terminal to prompt on.`,
        { hint: 'In CI, set the account\'s codes to { env: NAME } or { command: CMD } in the manifest.' },
      );
    }

    const target = request.destination === undefined ? '' : ` to ${request.destination}`;
    let question = `Enter the 6-digit code sent by ${request.channel}${target} for account "${request.account}": `;
    for (let attempt = 1; attempt <= PROMPT_ATTEMPTS; attempt += 1) {
      signal?.throwIfAborted();
      const answer = (await this.#prompt(question, signal)).replace(/\s/g, '');
      if (CODE_PATTERN.test(answer)) {
        return answer;
      }
      question = `That is not a 6-digit code. Enter the ${request.channel} code for account "${request.account}": `;
    }

    throw new CodeProviderError(
      'code_provider_invalid_code',
      `No 6-digit ${request.channel} code was entered for account "${request.account}" in ${PROMPT_ATTEMPTS} attempts.`,
      { hint: 'Type only the 6 digits of the code the message contains.' },
    );
  }
}

/** Reads the code from an environment variable, for pipelines that fetch it beforehand. */
class EnvCodeProvider implements CodeProvider {
  readonly description: string;
  readonly #name: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(name: string, env: NodeJS.ProcessEnv) {
    this.#name = name;
    this.#env = env;
    this.description = `environment variable ${name}`;
  }

  async getCode(request: CodeRequest, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    const value = this.#env[this.#name];
    if (value === undefined || value.trim() === '') {
      throw new CodeProviderError(
        'code_provider_env_missing',
        `The environment variable ${this.#name}, which should contain the ${request.channel} code for account "${request.account}", is not set.`,
        { hint: `Set ${this.#name} to the 6-digit code, or use { command: CMD } to fetch it during the run.` },
      );
    }

    const code = value.trim();
    if (!CODE_PATTERN.test(code)) {
      // The value is described, not shown, because it may be a code with a typo.
      throw new CodeProviderError(
        'code_provider_invalid_code',
        `The environment variable ${this.#name} does not contain a 6-digit code (it has ${code.length} characters).`,
        { hint: `Set ${this.#name} to exactly the 6 digits of the ${request.channel} code.` },
      );
    }
    // NOTE: the variable cannot change during a run, so a second request reads the same,
    // already used code.
    return code;
  }
}
