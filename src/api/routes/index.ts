/** Every route group of the API, registered in order by buildApp. Add a group here, nowhere else. */
import type { FastifyPluginAsync } from 'fastify';
import usersRoutes from './users';
import bookingPagesRoutes from './booking-pages';
import conversationsRoutes from './conversations';
import bookingsRoutes from './bookings';
import webhooksRoutes from './webhooks';
import eventTypesRoutes from './event-types';

export interface RouteGroup {
  prefix: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugin: FastifyPluginAsync<any>;
}

export const routeGroups: RouteGroup[] = [
  { prefix: '/v2/users', plugin: usersRoutes },
  { prefix: '/v2/booking-pages', plugin: bookingPagesRoutes },
  { prefix: '/v2/bookings', plugin: bookingsRoutes },
  { prefix: '/v2/conversations', plugin: conversationsRoutes },
  { prefix: '/v2/webhooks', plugin: webhooksRoutes },
  { prefix: '/v2/event-types', plugin: eventTypesRoutes },
];
