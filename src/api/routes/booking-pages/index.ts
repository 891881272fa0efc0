/** /v2/booking-pages: create, list, retrieve, update and delete booking pages and their Salesforce settings. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createBookingPagesRepository, type BookingPage as StoredBookingPage } from '../../../store/booking-pages-repository';
import { bookingPageRoutes, type BookingPage } from '../../schemas/booking-pages';
import { fromStore } from '../../store-errors';

/** The API's booking page object. */
export function bookingPageObject(p: StoredBookingPage): BookingPage {
  return {
    object: 'booking_page',
    id: p.id,
    name: p.name,
    owner_user_id: p.ownerUserId,
    mode: p.mode,
    salesforce: { ...p.salesforce },
    creation_time: p.createdAt.toISOString(),
  };
}

const bookingPagesPlugin: FastifyPluginAsyncTypebox = async (app) => {
  const pages = createBookingPagesRepository(app.deps.db);

  app.post('', { schema: bookingPageRoutes.create }, async (request, reply) => {
    const { name, owner_user_id, mode, salesforce } = request.body;
    const page = await fromStore(() => pages.create({ name, ownerUserId: owner_user_id, mode: mode ?? 'automatic', salesforce }));
    return reply.code(201).send(bookingPageObject(page));
  });

  app.get('', { schema: bookingPageRoutes.list }, async (request) => {
    const { limit = 10, before, after } = request.query;
    const page = await fromStore(() => pages.list({ limit, before, after }));
    return { object: 'list' as const, data: page.data.map(bookingPageObject), has_more: page.hasMore };
  });

  app.get('/:id', { schema: bookingPageRoutes.get }, async (request) => {
    return bookingPageObject(await fromStore(() => pages.get(request.params.id)));
  });

  app.patch('/:id', { schema: bookingPageRoutes.update }, async (request) => {
    const { name, owner_user_id, mode, salesforce } = request.body;
    return bookingPageObject(await fromStore(() => pages.update(request.params.id, { name, ownerUserId: owner_user_id, mode, salesforce })));
  });

  app.delete('/:id', { schema: bookingPageRoutes.delete }, async (request) => {
    await fromStore(() => pages.delete(request.params.id));
    return { id: request.params.id, deleted: true as const };
  });
};

export default bookingPagesPlugin;
