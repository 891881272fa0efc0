/** /v2/users: create, list, retrieve, update and delete the users who own booking pages. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createUsersRepository, type User as StoredUser } from '../../../store/users-repository';
import { userRoutes, type User } from '../../schemas/users';
import { fromStore } from '../../store-errors';

/** The API's user object. */
export function userObject(u: StoredUser): User {
  return { object: 'user', id: u.id, name: u.name, email: u.email, timezone: u.timezone, creation_time: u.createdAt.toISOString() };
}

const usersPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const users = createUsersRepository(app.deps.db);

  app.post('', { schema: userRoutes.create }, async (request, reply) => {
    const user = await fromStore(() => users.create(request.body));
    return reply.code(201).send(userObject(user));
  });

  app.get('', { schema: userRoutes.list }, async (request) => {
    const { limit = 10, before, after } = request.query;
    const page = await fromStore(() => users.list({ limit, before, after }));
    return { object: 'list' as const, data: page.data.map(userObject), has_more: page.hasMore };
  });

  app.get('/:id', { schema: userRoutes.get }, async (request) => {
    return userObject(await fromStore(() => users.get(request.params.id)));
  });

  app.patch('/:id', { schema: userRoutes.update }, async (request) => {
    return userObject(await fromStore(() => users.update(request.params.id, request.body)));
  });

  app.delete('/:id', { schema: userRoutes.delete }, async (request) => {
    await fromStore(() => users.delete(request.params.id));
    return { id: request.params.id, deleted: true as const };
  });
};

export default usersPlugin;
