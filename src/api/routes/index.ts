/** Every route group of the API, registered in order by buildApp. Add a group here, nowhere else. */
import type { FastifyPluginAsync } from 'fastify';

export interface RouteGroup {
  prefix: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugin: FastifyPluginAsync<any>;
}

export const routeGroups: RouteGroup[] = [];
