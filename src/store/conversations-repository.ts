/** Conversations as the API tracks them: which visitor has which open conversation with which bot. */
import type { Db } from './db';

export interface NewConversationRow {
  id: string;
  visitorId: string | null;
  botId: string;
  createdAt: string;
}

export interface ConversationsRepository {
  /**
   * Records a new open conversation and, in the same transaction, marks closed the visitor's open
   * conversations with other bots; returns their ids so the caller can close their workflows.
   */
  open(row: NewConversationRow): Promise<{ supersededIds: string[] }>;
  /** Marks a conversation closed (the API closed it); unknown ids are ignored. */
  markClosed(id: string): Promise<void>;
}

export function createConversationsRepository(db: Db): ConversationsRepository {
  return {
    async open(row) {
      return db.transaction(async (tx) => {
        let supersededIds: string[] = [];
        if (row.visitorId !== null) {
          // FOR UPDATE: two starts of one visitor at once close each earlier conversation once.
          const r = await tx.query<{ id: string }>(
            `SELECT id FROM conversations WHERE visitor_id = $1 AND status = 'open' AND bot_id <> $2 ORDER BY seq FOR UPDATE`,
            [row.visitorId, row.botId],
          );
          supersededIds = r.rows.map((x) => x.id);
          if (supersededIds.length > 0) {
            await tx.query(`UPDATE conversations SET status = 'closed' WHERE id = ANY($1::text[])`, [supersededIds]);
          }
        }
        await tx.query(`INSERT INTO conversations (id, visitor_id, bot_id, status, created_at) VALUES ($1, $2, $3, 'open', $4)`, [
          row.id,
          row.visitorId,
          row.botId,
          row.createdAt,
        ]);
        return { supersededIds };
      });
    },
    async markClosed(id) {
      await db.query(`UPDATE conversations SET status = 'closed' WHERE id = $1`, [id]);
    },
  };
}
